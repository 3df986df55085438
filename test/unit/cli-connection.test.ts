/**
 * Where the CLI connects and who it logs in as (gateway/cli/connection.ts): flags first, then the
 * environment (a profile set once), then the local operator credential; never a password in argv.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConnection } from '../../gateway/cli/connection.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-conn-'));
  await writeFile(join(dir, 'ca.pem'), 'CA PEM');
  await writeFile(join(dir, 'pw'), 'from-file\nignored second line\n');
  await writeFile(join(dir, 'operator.credentials'), JSON.stringify({ broker: 'mqtt://10.0.0.9:1884', username: 'local-operator', password: 'p' }), { mode: 0o600 });
  await chmod(join(dir, 'operator.credentials'), 0o600);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveConnection', () => {
  it('takes a whole profile from the environment', async () => {
    const env = { EDGEFC_BROKER_URL: 'mqtts://gw:8883', EDGEFC_USERNAME: 'alice', EDGEFC_PASSWORD: 'secret', EDGEFC_CA: join(dir, 'ca.pem') };
    expect(await resolveConnection({}, env)).toEqual({ brokerUrl: 'mqtts://gw:8883', username: 'alice', password: 'secret', tls: { ca: Buffer.from('CA PEM') } });
  });

  it('lets flags win over the environment, and reads a password file\'s first line', async () => {
    const env = { EDGEFC_BROKER_URL: 'mqtt://env:1', EDGEFC_USERNAME: 'alice', EDGEFC_PASSWORD: 'secret' };
    expect(await resolveConnection({ broker: 'mqtt://flag:2', username: 'bob', 'password-file': join(dir, 'pw') }, env)).toEqual({
      brokerUrl: 'mqtt://flag:2',
      username: 'bob',
      password: 'from-file',
    });
  });

  it('finds the local operator credential in the data directory, broker included', async () => {
    expect(await resolveConnection({ data: dir }, {})).toEqual({ brokerUrl: 'mqtt://10.0.0.9:1884', username: 'local-operator', password: 'p' });
  });

  it('refuses a password on the command line, a username without a password, and half a client certificate', async () => {
    await expect(resolveConnection({ password: 'x' }, {})).rejects.toThrow(/--password is not accepted/);
    await expect(resolveConnection({ username: 'bob', data: join(dir, 'none') }, {})).rejects.toThrow(/no password for "bob"/);
    await expect(resolveConnection({}, { EDGEFC_CERT: join(dir, 'ca.pem') })).rejects.toThrow(/go together/);
    await expect(resolveConnection({ ca: join(dir, 'missing.pem') }, {})).rejects.toThrow(/cannot read --ca/);
  });

  it('connects anonymously only when nothing says otherwise', async () => {
    expect(await resolveConnection({ data: join(dir, 'none') }, {})).toEqual({ brokerUrl: 'mqtt://127.0.0.1:1883' });
  });
});
