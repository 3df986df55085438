/**
 * The security model's pure parts: password hashes, the access file's checks, publish and
 * subscribe grants, and `invokers`.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessControl } from '../../gateway/security/access-control.js';
import { formatAccessFile, loadAccessFile, parseAccessText, type AccessEntry } from '../../gateway/security/access-file.js';
import { writeSecretFile } from '../../gateway/security/private-file.js';
import { mayInvoke } from '../../gateway/security/call-policy.js';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../gateway/security/password-hash.js';
import { clientIdBelongsTo, type Principal } from '../../gateway/security/principal.js';
import type { FunctionSpec } from '../../gateway/registry/types.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-access-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const device = (name: string, extra: Partial<AccessEntry> = {}): AccessEntry => ({ name, role: 'device', certificate: false, groups: [], publish: [], subscribe: [], ...extra });

describe('password hashes', () => {
  it('verify the right password only, in Mosquitto\'s $7$ format', async () => {
    const hash = await hashPassword('correct horse', 1000);
    expect(hash).toMatch(/^\$7\$1000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{88}$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct hors', hash)).toBe(false);
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
    expect(parsePasswordHash('$7$10$c2FsdHNhbHQ=$aGFzaA==')).toBeUndefined(); // too few iterations, short hash
  });

  it('match what mosquitto_passwd writes', async () => {
    // `mosquitto_passwd -b pw alice secret` (Mosquitto 2.0.11), as it wrote it.
    const written = '$7$101$rvmRMXFVxemoF4+l$E/cmqh2ZDSB4ylUMSMoJ1yKMmTeRIvZRDmhhh63/O0eWEzRuKq1fh+WzVr9C/B+hQ454XLqHiwsdj/hj94aLnw==';
    // 101 iterations is below our floor, so parse refuses it; the derivation itself is Mosquitto's.
    expect(parsePasswordHash(written)).toBeUndefined();
    const { pbkdf2Sync } = await import('node:crypto');
    const [, , iterations, salt, hash] = written.split('$');
    expect(pbkdf2Sync('secret', Buffer.from(salt ?? '', 'base64'), Number(iterations), 64, 'sha512').toString('base64')).toBe(hash);
  });
});

describe('the access file', () => {
  it('refuses clear passwords, unknown fields, bad names and bad grants, all at once', () => {
    const text = `version: 1
principals:
  ok-1: { role: device, password: hunter2 }
  bad_name: { role: device, certificate: true }
  op: { role: admin, certificate: true }
  s: { role: device, certificate: true, publish: ['#'], colour: blue }
`;
    expect(() => parseAccessText(text, 'access.yml')).toThrow(
      /ok-1\.password: must be a \$7\$ hash.*principals\.bad_name: a name is.*op\.role: must be "device" or "operator".*s\.colour: unknown field.*s\.publish: "#"/s,
    );
  });

  it('round-trips, is written 0600, and is refused when others can read it', async () => {
    const path = join(dir, 'access.yml');
    await writeSecretFile(path, formatAccessFile([device('s-1', { password: await hashPassword('p', 1000), groups: ['g'], publish: ['a/+'] })]));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await loadAccessFile(path)).principals.get('s-1')).toMatchObject({ role: 'device', groups: ['g'], publish: ['a/+'] });
    const loose = join(dir, 'loose.yml');
    await writeFile(loose, 'version: 1\n', { mode: 0o644 });
    await expect(loadAccessFile(loose)).rejects.toThrow(/readable by other users.*chmod 600/);
  });
});

describe('grants', () => {
  it('bind client IDs to their principal', () => {
    expect(clientIdBelongsTo('s-1', 's-1')).toBe(true);
    expect(clientIdBelongsTo('s-1_x', 's-1')).toBe(true);
    expect(clientIdBelongsTo('s-1_', 's-1')).toBe(false);
    expect(clientIdBelongsTo('s-10', 's-1')).toBe(false);
    expect(clientIdBelongsTo('s-1', 's-10')).toBe(false);
  });

  it('let a principal publish and subscribe on its own topics and what it was granted only', async () => {
    const access = await AccessControl.open(join(dir, 'none.yml'));
    const sensor = device('s-1', { publish: ['plant/+/temp'], subscribe: ['plant/alerts'] });
    const fn: Principal = { name: 'fn-abc', role: 'function', groups: [], publish: [], subscribe: [], function: 'S/F' };
    expect(access.canPublish(sensor, 'edgefc/v1/invoke/s-1/S/F')).toBe(true);
    expect(access.canPublish(sensor, 'edgefc/v1/invoke/s-2/S/F')).toBe(false);
    expect(access.canPublish(sensor, 'edgefc/v1/reply/s-1')).toBe(false);
    expect(access.canPublish(sensor, 'edgefc/v1/status/s-1')).toBe(true);
    expect(access.canPublish(sensor, 'plant/7/temp')).toBe(true);
    expect(access.canPublish(sensor, 'plant/7/pressure')).toBe(false);
    expect(access.canPublish(sensor, '$SYS/x')).toBe(false);
    expect(access.canPublish(fn, 'plant/7/pressure')).toBe(true);
    expect(access.canPublish(fn, 'edgefc/other')).toBe(false);
    expect(access.canSubscribe(sensor, 'edgefc/v1/reply/s-1')).toBe(true);
    expect(access.canSubscribe(sensor, 'edgefc/v1/reply/s-1/#')).toBe(true);
    expect(access.canSubscribe(sensor, 'edgefc/v1/reply/s-10')).toBe(false);
    expect(access.canSubscribe(sensor, 'plant/alerts')).toBe(true);
    expect(access.canSubscribe(sensor, 'plant/#')).toBe(false);
    for (const filter of ['#', '+/#', '$SYS/#', 'edgefc/#', 'edgefc/v1/reply/+']) expect(access.canSubscribe(sensor, filter)).toBe(false);
  });

  it('follow a function\'s invokers, with operators always allowed', () => {
    const spec = (invokers?: string[]): FunctionSpec => ({ serviceName: 'S', name: 'F', ...(invokers === undefined ? {} : { invokers }) }) as unknown as FunctionSpec;
    const sensor = device('s-1', { groups: ['line-3'] });
    const operator: Principal = { ...device('op'), role: 'operator' };
    const fnOf = (fn: string): Principal => ({ name: 'fn-x', role: 'function', groups: [], publish: [], subscribe: [], function: fn });
    expect(mayInvoke(sensor, spec())).toBe(false);
    expect(mayInvoke(fnOf('T/G'), spec())).toBe(true);
    expect(mayInvoke(operator, spec(['device:nobody']))).toBe(true);
    expect(mayInvoke(sensor, spec(['group:line-3']))).toBe(true);
    expect(mayInvoke(sensor, spec(['group:line-4', 'device:s-2']))).toBe(false);
    expect(mayInvoke(sensor, spec(['devices']))).toBe(true);
    expect(mayInvoke(fnOf('T/G'), spec(['devices']))).toBe(false);
    expect(mayInvoke(fnOf('T/G'), spec(['service:T']))).toBe(true);
    expect(mayInvoke(fnOf('T/G'), spec(['function:T/H']))).toBe(false);
    expect(mayInvoke(sensor, spec(['*']))).toBe(true);
  });
});

describe('reloading', () => {
  it('keeps the last good principals when the file is broken by an edit, and reports it', async () => {
    const path = join(dir, 'reload.yml');
    await writeSecretFile(path, formatAccessFile([device('s-1', { password: await hashPassword('p', 1000) })]));
    const access = await AccessControl.open(path);
    const errors: unknown[] = [];
    access.onReloadError = (error) => errors.push(error);
    await writeSecretFile(path, 'version: 1\nprincipals:\n  s-1: { role: device, password: clear-text }\n');
    await access.refresh();
    expect(errors).toHaveLength(1);
    expect(access.principal('s-1')).toMatchObject({ role: 'device' });
    await expect(access.authenticate({ clientId: 's-1', username: 's-1', password: Buffer.from('p'), certificateName: undefined })).resolves.toMatchObject({ name: 's-1' });
  });
});
