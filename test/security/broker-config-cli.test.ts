/**
 * `edgefc broker-config mosquitto`: the files it writes, their modes, and the gateway secrets it
 * keeps across runs (a re-run after `edgefc users` must not change the gateway's or functions'
 * passwords under a running gateway).
 */
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Output } from '../../gateway/cli/commands/common.js';
import { main } from '../../gateway/cli/edgefc.js';
import { localGroupId } from '../../gateway/cli/broker-files.js';

let dir: string;
let dataDir: string;
let out: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-broker-config-'));
  dataDir = join(dir, 'data');
  out = join(dir, 'mosquitto');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; text: string }> {
  const text: string[] = [];
  const output: Output = { out: (chunk) => text.push(chunk), err: (chunk) => text.push(chunk) };
  const code = await main(['broker-config', ...args], output);
  return { code, text: text.join('') };
}

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('edgefc broker-config mosquitto', () => {
  test('writes passwords, acl and edgefc.conf readable by Mosquitto\'s group only, and the gateway\'s secrets 0600', async () => {
    const result = await run('mosquitto', '--out', out, '--data', dataDir, '--port', '18833');
    expect(result.code, result.text).toBe(0);
    // Given to the mosquitto group (root, or a member, on a Debian box): 0640; else owner-only 0600.
    const mosquittoGid = await localGroupId('mosquitto');
    for (const name of ['passwords', 'acl', 'edgefc.conf']) {
      const info = await stat(join(out, name));
      const grouped = mosquittoGid !== undefined && info.gid === mosquittoGid;
      expect(info.mode & 0o777).toBe(grouped ? 0o640 : 0o600);
      if (process.getuid?.() === 0 && mosquittoGid !== undefined) expect(grouped).toBe(true);
    }
    for (const name of ['gateway.secret', 'gateway.credentials', 'operator.credentials', 'access.yml']) expect(await mode(join(dataDir, name))).toBe(0o600);
    const config = await readFile(join(out, 'edgefc.conf'), 'utf8');
    expect(config).toContain(`password_file ${join(out, 'passwords')}\n`);
    expect(config).toContain('listener 18833 127.0.0.1\n');
    // The local operator, so `edgefc list` works on this box.
    expect(JSON.parse(await readFile(join(dataDir, 'operator.credentials'), 'utf8'))).toMatchObject({ broker: 'mqtt://127.0.0.1:18833', username: 'local-operator' });
  });

  test('a second run keeps the gateway\'s login and secret, so a running gateway and its functions keep logging in', async () => {
    const credentials = await readFile(join(dataDir, 'gateway.credentials'), 'utf8');
    const secret = await readFile(join(dataDir, 'gateway.secret'), 'utf8');
    expect((await run('mosquitto', '--out', out, '--data', dataDir, '--port', '18833')).code).toBe(0);
    expect(await readFile(join(dataDir, 'gateway.credentials'), 'utf8')).toBe(credentials);
    expect(await readFile(join(dataDir, 'gateway.secret'), 'utf8')).toBe(secret);
  });

  test('--tls-* add a mutual-TLS listener that takes the certificate\'s CN as the username', async () => {
    const [cert, key, ca] = ['server.pem', 'server.key', 'ca.pem'].map((name) => join(dir, name)) as [string, string, string];
    await Promise.all([cert, key, ca].map((file) => writeFile(file, 'PEM')));
    const result = await run('mosquitto', '--out', out, '--data', dataDir, '--tls-cert', cert, '--tls-key', key, '--tls-ca', ca, '--tls-port', '18834');
    expect(result.code, result.text).toBe(0);
    const config = await readFile(join(out, 'edgefc.conf'), 'utf8');
    expect(config).toContain(`listener 18834 127.0.0.1\ncafile ${ca}\ncertfile ${cert}\nkeyfile ${key}\nrequire_certificate true\nuse_identity_as_username true\n`);
  });

  test('command-line mistakes: exit 2', async () => {
    expect((await run('mosquitto', '--data', dataDir)).code).toBe(2);
    expect((await run('emqx', '--out', out)).code).toBe(2);
    expect((await run('mosquitto', '--out', out, '--tls-cert', 'x.pem')).code).toBe(2);
    expect((await run('mosquitto', '--out', out, '--port', '0')).code).toBe(2);
  });

  test('refuses a gateway secret other users can read', async () => {
    await chmod(join(dataDir, 'gateway.secret'), 0o644);
    const result = await run('mosquitto', '--out', out, '--data', dataDir);
    expect(result).toMatchObject({ code: 1, text: expect.stringContaining('readable by other users') as string });
    await chmod(join(dataDir, 'gateway.secret'), 0o600);
  });
});
