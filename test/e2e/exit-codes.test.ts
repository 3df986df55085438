/**
 * One contract for every client command (docs/operations.md §5.4): `--json` prints one JSON
 * object on stdout, success or failure (`{"error": {"code", "message"}}`); exit code 0 is
 * success, 1 a failed operation, 2 a bad command line. Driven by the command table, so a new
 * command must be added here too.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { COMMANDS } from '../../gateway/cli/command-table.js';
import { main } from '../../gateway/cli/edgefc.js';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { runCli } from '../fixtures/cli-process.js';

/** Commands without --json, and why: the server itself (its log has --log-format json), a shell script. */
const NO_JSON = new Set(['start', 'completion']);

let dir: string;
let unreachable: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-exit-'));
  unreachable = `mqtt://127.0.0.1:${await freeLoopbackPort()}`;
  await writeFile(join(dir, 'bad.yml'), 'edgefc: 1\nservices:\n  S:\n    functions:\n      f:\n        runtime: nodejs20\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A refused connection is tried again until the connect deadline (a broker may be starting):
 * 5 s by default for these commands, twice per case. A second fails them as surely.
 */
const FAST = ['--timeout', '1000'];

/** A command line of each command that fails as an operation (exit 1), not as a command line. */
const FAILING: Record<string, () => string[]> = {
  invoke: () => ['invoke', 'A/b', '--broker', unreachable, '--data', dir, ...FAST],
  list: () => ['list', '--broker', unreachable, '--data', dir, ...FAST],
  stats: () => ['stats', '--broker', unreachable, '--data', dir, ...FAST],
  invocations: () => ['invocations', 'list', '--broker', unreachable, '--data', dir, ...FAST],
  logs: () => ['logs', 'A/b', '--broker', unreachable, '--data', dir, ...FAST],
  deploy: () => ['deploy', '--rollback', '--broker', unreachable, '--data', dir, ...FAST],
  deployments: () => ['deployments', 'list', '--broker', unreachable, '--data', dir, ...FAST],
  remove: () => ['remove', 'A/b', '--broker', unreachable, '--data', dir, ...FAST],
  versions: () => ['versions', 'publish', 'A', '--broker', unreachable, '--data', dir, ...FAST],
  aliases: () => ['aliases', 'create', 'A', 'prod', '--version', '1', '--broker', unreachable, '--data', dir, ...FAST],
  cluster: () => ['cluster', 'status', '--broker', unreachable, '--data', dir, ...FAST],
  describe: () => ['describe', 'A/b', '--broker', unreachable, '--data', dir, ...FAST],
  users: () => ['users', 'remove', 'nobody', '--access', join(dir, 'access.yml')],
  'broker-config': () => ['broker-config', 'mosquitto', '--out', join(dir, 'out'), '--template', join(dir, 'bad.yml'), '--data', dir],
  validate: () => ['validate', join(dir, 'bad.yml')],
  // An edgefc template is not an FC project file: nothing to import.
  import: () => ['import', join(dir, 'bad.yml'), '--out', join(dir, 'never.yml')],
};

function capture(): { out: string[]; err: string[]; output: { out: (t: string) => void; err: (t: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: (t) => out.push(t), err: (t) => err.push(t) } };
}

describe('every command', () => {
  test('takes --json, except the server and the completion script', () => {
    expect(COMMANDS.filter((c) => !('json' in c.options)).map((c) => c.name)).toEqual([...NO_JSON]);
  });

  test('that can fail has a failing case here', () => {
    expect(COMMANDS.map((c) => c.name).filter((name) => !NO_JSON.has(name) && name !== 'version' && FAILING[name] === undefined)).toEqual([]);
  });

  test.each(COMMANDS.map((c) => c.name))('%s: an unknown flag is a usage error: exit 2, a reason on stderr, nothing on stdout', async (name) => {
    const { out, err, output } = capture();
    expect(await main([name, '--no-such-flag'], output)).toBe(2);
    expect(out.join('')).toBe('');
    expect(err.join('')).toMatch(/--no-such-flag/);
  });

  test('no command at all is a usage error too', async () => {
    const { out, err, output } = capture();
    expect(await main([], output)).toBe(2);
    expect(out.join('')).toBe('');
    expect(err.join('')).toMatch(/^Usage: edgefc/);
  });
});

describe.each(Object.keys(FAILING))('edgefc %s, failing', (name) => {
  test('exit 1; with --json one object {"error": {"code", "message"}} on stdout', async () => {
    const args = (FAILING[name] as () => string[])();
    const text = await runCli(args);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stderr).toMatch(/edgefc|:\d+:\d+/);
    const json = await runCli([...args, '--json']);
    expect(json.code, json.stderr).toBe(1);
    const lines = json.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ error: { code: expect.stringMatching(/^[A-Z][A-Za-z]+$/), message: expect.any(String) } });
  });
});

describe('success with --json is one JSON object', () => {
  test.each([
    ['version', () => ['version', '--json']],
    ['validate', () => ['validate', 'functions/template.yml', '--json']],
    ['users list', () => ['users', 'list', '--access', join(dir, 'access.yml'), '--json']],
  ])('%s', async (_name, args) => {
    const result = await runCli(args());
    expect(result.code, result.stderr).toBe(0);
    expect(typeof JSON.parse(result.stdout)).toBe('object');
  });
});
