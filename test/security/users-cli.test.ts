/**
 * `edgefc users` as a process: passwords from stdin or a terminal with echo off (a real pty, by
 * Python's pty module), never from argv, never printed; the access file it leaves.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAccessText } from '../../gateway/security/access-file.js';
import { verifyPassword } from '../../gateway/security/password-hash.js';
import { bcryptMatches } from '../../gateway/security/bcrypt-hash.js';
import { CLI, type CliResult } from '../fixtures/cli-process.js';

let dir: string;
let accessFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-users-'));
  accessFile = join(dir, 'access.yml');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

/** `edgefc users ARGS --access FILE` with `stdin` piped in (not a terminal). */
function users(args: string[], stdin = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'users', ...args, '--access', accessFile], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/**
 * Run `edgefc users ARGS` on a pseudo-terminal: answer each password prompt once it shows, and
 * return everything the terminal displayed.
 */
function usersOnTty(args: string[], answers: string[]): Promise<CliResult> {
  const script = `
import os, pty, sys, json
answers = json.loads(os.environ['ANSWERS'])
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b''
def read():
    global seen
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return False
    seen += chunk
    return len(chunk) > 0
for answer in answers:
    prompts = seen.count(b'Password for')
    while seen.count(b'Password for') == prompts and read():
        pass
    os.write(fd, answer.encode() + b'\\r')
while read():
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
`;
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', script, process.execPath, CLI, 'users', ...args, '--access', accessFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ANSWERS: JSON.stringify(answers) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function entries(): Promise<ReturnType<typeof parseAccessText>> {
  return parseAccessText(await readFile(accessFile, 'utf8'), accessFile);
}

describe('edgefc users add', () => {
  test('takes the password from the first line of stdin, stores only its hash, mode 0600', async () => {
    const result = await users(['add', 'sensor-1', '--role', 'device', '--group', 'line-3', '--publish', 'factory/+/temp'], 'correct-horse-battery\nignored\n');
    expect(result.code, result.stderr).toBe(0);
    const entry = (await entries()).get('sensor-1');
    expect(entry).toMatchObject({ role: 'device', groups: ['line-3'], publish: ['factory/+/temp'] });
    expect(await verifyPassword('correct-horse-battery', entry?.password ?? '')).toBe(true);
    expect(await readFile(accessFile, 'utf8')).not.toContain('correct-horse-battery');
    expect((await stat(accessFile)).mode & 0o777).toBe(0o600);
  });

  test('asks twice on a terminal with echo off: the password never shows', async () => {
    const result = await usersOnTty(['add', 'alice', '--role', 'operator'], ['typed-at-the-tty', 'typed-at-the-tty']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('Password for alice (again): ');
    expect(result.stdout).not.toContain('typed-at-the-tty');
    expect(await verifyPassword('typed-at-the-tty', (await entries()).get('alice')?.password ?? '')).toBe(true);
    const mismatch = await usersOnTty(['add', 'bob', '--role', 'device'], ['first-attempt-1', 'first-attempt-2']);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stdout).toContain('the two passwords differ');
    expect((await entries()).has('bob')).toBe(false);
  });

  test('refuses --password with the reason, short or missing passwords, reserved names: exit 2, nothing written', async () => {
    const before = await readFile(accessFile, 'utf8');
    const refused = await users(['add', 'bob', '--role', 'device', '--password', 'hunter2hunter2']);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('visible to every local user') as string });
    expect((await users(['add', 'bob', '--role', 'device'], 'short\n')).code).toBe(2);
    expect((await users(['add', 'bob', '--role', 'device'], '')).code).toBe(2);
    expect((await users(['add', 'bob', '--role', 'admin'], 'long-enough-pass\n')).code).toBe(2);
    expect((await users(['add', 'fn-0123456789abcdef', '--role', 'device'], 'long-enough-pass\n')).code).toBe(2);
    expect((await users(['add', 'bob', '--role', 'device', '--no-password'])).code).toBe(2);
    expect((await users(['add', 'bob', '--role', 'device', '--publish', 'edgefc/v1/reply/x'], 'long-enough-pass\n')).code).toBe(2);
    expect(await readFile(accessFile, 'utf8')).toBe(before);
  });

  test('an existing name needs --update; --keep-password keeps its hash; certificate-only logins', async () => {
    const duplicate = await users(['add', 'sensor-1', '--role', 'device'], 'another-password\n');
    expect(duplicate).toMatchObject({ code: 1, stderr: expect.stringContaining('--update') as string });
    const hash = (await entries()).get('sensor-1')?.password;
    expect((await users(['add', 'sensor-1', '--role', 'operator', '--update', '--keep-password'])).code).toBe(0);
    expect((await entries()).get('sensor-1')).toMatchObject({ role: 'operator', groups: [], password: hash });
    expect((await users(['add', 'plc-7', '--role', 'device', '--certificate', '--no-password'])).code).toBe(0);
    const plc = (await entries()).get('plc-7');
    expect(plc?.certificate).toBe(true);
    expect(plc?.password).toBeUndefined();
  });
});

describe('edgefc users list and remove', () => {
  test('list shows roles, groups, logins and grants, never a hash; --json for scripts', async () => {
    const table = await users(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+ROLE\s+GROUPS\s+LOGIN\s+PUBLISH\s+SUBSCRIBE$/);
    expect(table.stdout).toMatch(/plc-7\s+device\s+-\s+certificate/);
    const json = await users(['list', '--json']);
    const listed = JSON.parse(json.stdout) as { principals: { name: string; login: string[] }[] };
    expect(listed.principals.find((p) => p.name === 'alice')?.login).toEqual(['password']);
    for (const output of [table.stdout, json.stdout]) expect(output).not.toContain('$7$');
  });

  test('remove deletes the entry; an unknown name is an error', async () => {
    expect((await users(['remove', 'plc-7'])).code).toBe(0);
    expect((await entries()).has('plc-7')).toBe(false);
    expect(await users(['remove', 'plc-7'])).toMatchObject({ code: 1, stderr: expect.stringContaining('not in') as string });
  });
});

describe('edgefc users add --nats', () => {
  test('keeps a bcrypt hash of the same password for nats-server, kept with --keep-password', async () => {
    const added = await users(['add', 'nats-dev', '--role', 'device', '--nats'], 'nats-device-password\n');
    expect(added.code, added.stderr).toBe(0);
    const entry = parseAccessText(await readFile(accessFile, 'utf8'), accessFile).get('nats-dev');
    expect(entry?.natsPassword).toMatch(/^\$2a\$12\$/);
    expect(await bcryptMatches('nats-device-password', entry?.natsPassword ?? '')).toBe(true);
    expect(await verifyPassword('nats-device-password', entry?.password ?? '')).toBe(true);

    const updated = await users(['add', 'nats-dev', '--role', 'device', '--group', 'g', '--update', '--keep-password']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(parseAccessText(await readFile(accessFile, 'utf8'), accessFile).get('nats-dev')?.natsPassword).toBe(entry?.natsPassword);
  });

  test('a password over 72 bytes is refused: bcrypt would ignore the rest', async () => {
    const result = await users(['add', 'nats-long', '--role', 'device', '--nats'], `${'x'.repeat(80)}\n`);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/72 bytes/);
  });
});
