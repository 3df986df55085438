/**
 * FC project files through the real CLI (docs/import.md): `edgefc import` writes a template that
 * `validate` accepts, `validate` takes an s.yaml directly and prints its messages as
 * file:line:col, and `deploy --template s.yaml` to a real gateway process serves a function that
 * answers with the s.yaml's environment.
 */
import { cp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FCClient } from '../../src/index.js';
import { operatorLogin, runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/fc-projects/', import.meta.url));

let dir: string;
let proc: CliProcess | undefined;
let client: FCClient | undefined;

beforeEach(async () => {
  dir = await traversableTempDir('edgefc-import-');
  await cp(FIXTURES, dir, { recursive: true });
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  await stopProcess(proc);
  proc = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('edgefc import', () => {
  test('writes edgefc.yml beside a Funcraft template.yml, with a header; validate accepts it; a second run needs --force', async () => {
    const source = join(dir, 'funcraft/template.yml');
    const result = await runCli(['import', source]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/wrote .*funcraft\/edgefc\.yml from .*: 2 function\(s\), 7 warning\(s\)/);
    expect(result.stderr).toMatch(/template\.yml:36:7: Resources\.reports\.Properties\.VpcConfig: warning: VPC/);
    const out = join(dir, 'funcraft/edgefc.yml');
    const text = await readFile(out, 'utf8');
    expect(text).toMatch(/^# Converted by "edgefc import" from template\.yml \(Funcraft/);
    expect(text).toMatch(/# {3}Resources\.reports\.daily\.Events\.timer: /);
    expect(text).toMatch(/codeUri: \.\/src\/thumbs/);
    expect(text).not.toMatch(/^\s*invokers:/m); // the secure default stays
    expect((await stat(out)).mode & 0o077).toBe(0);
    const validated = await runCli(['validate', out]);
    expect(validated.code, validated.stderr).toBe(0);
    expect(validated.stdout).toMatch(/ok, 2 service\(s\), 2 function\(s\)/);

    const again = await runCli(['import', source]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists: give --force/);
    expect((await runCli(['import', source, '--force', '--json'])).code).toBe(0);
  });

  test('--out elsewhere rewrites codeUri relative to it; --json lists the messages without secrets', async () => {
    const out = join(dir, 'converted/app.yml');
    const result = await runCli(['import', join(dir, 'devs/s.yaml'), '--out', out, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { ok: boolean; functions: number; format: string; messages: { severity: string; line?: number }[] };
    expect(json).toMatchObject({ ok: true, functions: 3, format: 'serverless-devs' });
    expect(json.messages.filter((m) => m.severity === 'warning').length).toBeGreaterThanOrEqual(12);
    expect(result.stdout).not.toMatch(/not-a-real-secret/);
    expect(await readFile(out, 'utf8')).toMatch(/codeUri: \.\.\/devs\/code\/hello/);
    expect((await runCli(['validate', out])).code).toBe(0);
  });

  test('an error (unsupported runtime) writes nothing: exit 1 with file:line:col', async () => {
    const file = join(dir, 'fc3/s.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('runtime: nodejs20', 'runtime: python3.10'));
    const result = await runCli(['import', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/s\.yaml:52:7: resources\.dlq\.props\.runtime: error: runtime "python3\.10"/);
    await expect(stat(join(dir, 'fc3/edgefc.yml'))).rejects.toThrow();
  });
});

describe('validate and deploy take an s.yaml directly', () => {
  test('validate: ok with the warnings at their lines on stderr', async () => {
    const result = await runCli(['validate', join(dir, 'devs/s.yaml')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/ok, 2 service\(s\), 3 function\(s\)/);
    expect(result.stderr).toMatch(/s\.yaml:85:11: services\.orders\.props\.triggers\.1: warning: trigger "uploads"/);
    expect(result.stderr).not.toMatch(/not-a-real-secret/);
  });

  test('deploy --template s.yaml to a running gateway; the function answers with its s.yaml environment', async () => {
    const data = join(dir, 'gateway-data');
    proc = startCliProcess(['start', '--port', '0', '--data', data, '--skip-demo']);
    await proc.waitForOutput(/ready on (mqtt:\/\/\S+)/);
    const url = /ready on (mqtt:\/\/\S+)/.exec(proc.output())?.[1] ?? '';
    const deployed = await runCli(['deploy', '--template', join(dir, 'devs/s.yaml'), '--broker', url, '--credentials', join(data, 'operator.credentials')], 60_000);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/3 function\(s\)/);
    expect(deployed.stderr).toMatch(/s\.yaml:99:9: services\.web\.props\.service\.vpcConfig: warning/);
    client = new FCClient({ brokerUrl: url, timeout: 20_000, ...(await operatorLogin(data)) });
    const { payload } = await client.invokeFunction({ serviceName: 'shop', functionName: 'hello', payload: 'ping' });
    expect(String(payload)).toBe('Hi from s.yaml: ping (shop/hello)');
  });

  test('start --template on a Funcraft template.yml: the dropped fields logged, its functions answer', async () => {
    const data = join(dir, 'gateway-data');
    proc = startCliProcess(['start', '--port', '0', '--data', data, '--skip-demo', '--template', join(dir, 'funcraft/template.yml')]);
    await proc.waitForOutput(/ready on (mqtt:\/\/\S+)/);
    expect(proc.output()).toMatch(/WARN field not imported .*line=36 field=Resources\.reports\.Properties\.VpcConfig/);
    const url = /ready on (mqtt:\/\/\S+)/.exec(proc.output())?.[1] ?? '';
    client = new FCClient({ brokerUrl: url, timeout: 20_000, ...(await operatorLogin(data)) });
    const { payload } = await client.invokeFunction({ serviceName: 'images', functionName: 'thumbs', payload: 'cat.png' });
    expect(String(payload)).toBe('Thumbnail for: cat.png (images/thumbs)');
  });
});
