/**
 * `edgefc gateway --nats` and `edgefc broker-config nats` refusals that need no cluster: a login
 * in argv, TLS flags out of place, and a trigger NATS cannot carry (refused before connecting,
 * with InvalidArgument naming it, docs/protocol.md §2.7).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { Output } from '../../gateway/cli/commands/common.js';
import { main } from '../../gateway/cli/edgefc.js';
import { runCli } from '../fixtures/cli-process.js';

const ROOT = new URL('../../', import.meta.url).pathname;
let dir: string | undefined;

afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function run(args: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const output: Output = { out: (text) => lines.push(text), err: (text) => lines.push(text) };
  const code = await main(args, output);
  return { code, text: lines.join('') };
}

async function badTriggerTemplate(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-nats-cli-'));
  const path = join(dir, 'template.yml');
  await writeFile(
    path,
    `edgefc: 1\nservices:\n  S:\n    functions:\n      f:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ${JSON.stringify(join(ROOT, 'functions', 'echo'))}\n        triggers:\n          - topic: factory/line.3/temp\n`,
  );
  return path;
}

describe('edgefc gateway --nats', () => {
  test('a login in the URL is refused (argv is visible to every local user)', async () => {
    const { code, text } = await run(['gateway', '--nats', 'nats://edgefc_gateway:secret@127.0.0.1:4222']);
    expect(code).toBe(2);
    expect(text).toMatch(/no login in the URL/);
    expect(text).not.toMatch(/secret/);
  });

  test('a URL that is not nats:// or tls://, and TLS flags out of place, are usage errors', async () => {
    expect((await run(['gateway', '--nats', 'mqtt://127.0.0.1:1883'])).code).toBe(2);
    expect((await run(['gateway', '--nats-ca', '/etc/ca.pem'])).code).toBe(2);
    expect((await run(['gateway', '--nats', 'nats://127.0.0.1:4222', '--nats-cert', '/etc/c.pem'])).code).toBe(2);
    expect((await run(['gateway', '--nats', 'nats://127.0.0.1:4222', '--port', '1884'])).code).toBe(2);
  });

  test('a trigger filter with a "." in a level stops the start with InvalidArgument, before connecting', async () => {
    const template = await badTriggerTemplate();
    // Nothing listens on port 1: had the gateway tried to connect first, the error would be ServiceUnavailable.
    const result = await runCli(['gateway', '--nats', 'nats://127.0.0.1:1', '--template', template, '--data', join(dir ?? '', 'data'), '--metrics', 'off', '--function-user', 'off']);
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(1);
    expect(output).toMatch(/InvalidArgument/);
    expect(output).toMatch(/factory\/line\.3\/temp/);
  });
});

describe('edgefc validate --nats', () => {
  test('refuses a trigger filter NATS cannot carry, naming the field (§2.7); without --nats the template is good', async () => {
    const template = await badTriggerTemplate();
    expect((await run(['validate', template])).code).toBe(0);
    const { code, text } = await run(['validate', template, '--nats']);
    expect(code).toBe(1);
    expect(text).toMatch(/services\.S\.functions\.f\.triggers\[0\]\.topic: "factory\/line\.3\/temp"/);
    const json = await run(['validate', template, '--nats', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.text)).toMatchObject({ ok: false, nats: [{ field: 'services.S.functions.f.triggers[0].topic', value: 'factory/line.3/temp' }], error: { code: 'InvalidArgument' } });
  });
});

describe('edgefc broker-config nats', () => {
  test('a trigger filter NATS cannot carry is refused, naming it', async () => {
    const template = await badTriggerTemplate();
    const { code, text } = await run(['broker-config', 'nats', '--out', join(dir ?? '', 'out'), '--data', join(dir ?? '', 'data'), '--template', template]);
    expect(code).toBe(1);
    expect(text).toMatch(/factory\/line\.3\/temp/);
  });
});
