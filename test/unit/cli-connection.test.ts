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

  describe('profiles (gateway/cli/profile.ts)', () => {
    const config = (name: string): string => join(dir, name);
    beforeAll(async () => {
      await writeFile(
        config('config.yml'),
        [
          'default: box1',
          'profiles:',
          '  box1:',
          '    broker: mqtts://box1:8883',
          '    credentials: operator.credentials',
          '    ca: ca.pem',
          '  box2:',
          '    broker: mqtt://box2:1883',
          '',
        ].join('\n'),
        { mode: 0o644 },
      );
      await chmod(config('config.yml'), 0o644);
      await writeFile(config('secret.yml'), 'profiles:\n  p:\n    password: hunter2\n', { mode: 0o600 });
      await writeFile(config('typo.yml'), 'profiles:\n  p:\n    brokr: mqtt://x:1\n', { mode: 0o600 });
      await writeFile(config('open.yml'), 'profiles: {}\n');
      await chmod(config('open.yml'), 0o666);
    });
    const none = 'no-such-data-dir';

    it('takes the default profile: broker, credential file and TLS files relative to the config file', async () => {
      expect(await resolveConnection({ data: none }, { EDGEFC_CONFIG: config('config.yml') })).toEqual({
        brokerUrl: 'mqtts://box1:8883',
        username: 'local-operator',
        password: 'p',
        tls: { ca: Buffer.from('CA PEM') },
      });
    });

    it('--profile beats $EDGEFC_PROFILE beats the default; flags and environment beat the profile', async () => {
      const env = { EDGEFC_CONFIG: config('config.yml'), EDGEFC_PROFILE: 'box2' };
      expect(await resolveConnection({ data: none }, env)).toEqual({ brokerUrl: 'mqtt://box2:1883' });
      expect((await resolveConnection({ data: none, profile: 'box1' }, env)).brokerUrl).toBe('mqtts://box1:8883');
      expect((await resolveConnection({ data: none, broker: 'mqtt://flag:1' }, env)).brokerUrl).toBe('mqtt://flag:1');
      expect((await resolveConnection({ data: none }, { ...env, EDGEFC_BROKER_URL: 'mqtt://env:1' })).brokerUrl).toBe('mqtt://env:1');
      // The environment's login beats the profile's credential file; the profile's beats the data directory's.
      expect(await resolveConnection({ data: dir, profile: 'box1' }, { ...env, EDGEFC_USERNAME: 'alice', EDGEFC_PASSWORD: 's' })).toMatchObject({ username: 'alice', password: 's', brokerUrl: 'mqtts://box1:8883' });
      // And a --credentials flag beats a username in the environment.
      expect(await resolveConnection({ credentials: join(dir, 'operator.credentials') }, { EDGEFC_USERNAME: 'alice', EDGEFC_PASSWORD: 's' })).toMatchObject({ username: 'local-operator' });
    });

    it('refuses a password in the file, an unknown key, an unknown profile, and a file others may write', async () => {
      await expect(resolveConnection({ profile: 'p' }, { EDGEFC_CONFIG: config('secret.yml') })).rejects.toThrow(/"password" is not accepted: the config file holds no secret/);
      await expect(resolveConnection({ profile: 'p' }, { EDGEFC_CONFIG: config('typo.yml') })).rejects.toThrow(/unknown key "brokr" \(did you mean "broker"\?\)/);
      await expect(resolveConnection({ profile: 'box3' }, { EDGEFC_CONFIG: config('config.yml') })).rejects.toThrow(/no profile "box3" \(did you mean "box1"\?\)/);
      await expect(resolveConnection({}, { EDGEFC_CONFIG: config('open.yml') })).rejects.toThrow(/may be written by other users .*chmod go-w/);
      await expect(resolveConnection({ profile: 'x' }, { EDGEFC_CONFIG: config('missing.yml') })).rejects.toThrow(/no config file/);
      await expect(resolveConnection({}, { EDGEFC_CONFIG: config('missing.yml') })).rejects.toThrow(/EDGEFC_CONFIG names .*missing\.yml, which does not exist/);
    });

    it('finds the file in $XDG_CONFIG_HOME/edgefc/config.yml, and none there is no profile', async () => {
      expect(await resolveConnection({ data: none }, { XDG_CONFIG_HOME: join(dir, 'nothing-here') })).toEqual({ brokerUrl: 'mqtt://127.0.0.1:1883' });
    });
  });

  it('connects anonymously only when nothing says otherwise', async () => {
    expect(await resolveConnection({ data: join(dir, 'none') }, {})).toEqual({ brokerUrl: 'mqtt://127.0.0.1:1883' });
  });
});
