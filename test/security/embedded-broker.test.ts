/**
 * Every attack of the security issue against the embedded broker with authentication on (the
 * default), each denied with the expected error, and the allowed paths still working.
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { encodeOkReply } from '../../src/protocol/reply.js';
import { ErrorCode, FCClient } from '../../src/index.js';
import { runCli } from '../fixtures/cli-process.js';
import { PASSWORDS, startSecurityEnv, type SecurityEnv } from './security-env.js';
import { waitFor } from '../fixtures/wait.js';

let env: SecurityEnv;
const opened: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  env = await startSecurityEnv();
});

afterAll(async () => {
  await Promise.all(opened.map((client) => client.close()));
  await env?.close();
});

function client(options: ConstructorParameters<typeof FCClient>[0] = {}): FCClient {
  const fc = new FCClient({ brokerUrl: env.gw.url, timeout: 5000, connectTimeout: 2000, ...options });
  opened.push(fc);
  return fc;
}

async function raw(name: keyof typeof PASSWORDS, clientId: string = name): Promise<MqttClient> {
  const mqtt = await connectMqtt(env.gw.url, { ...env.login(name), clientId, connectTimeoutMs: 3000, reconnectPeriod: 0 });
  opened.push({ close: () => mqtt.endAsync(true) });
  return mqtt;
}

async function failure(promise: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message?: string };
  }
  throw new Error('expected a failure');
}

async function grantOf(mqtt: MqttClient, filter: string): Promise<number> {
  try {
    return (await mqtt.subscribeAsync(filter, { qos: 1 }))[0]?.qos ?? -1;
  } catch (error) {
    if ((error as Error).name === 'ErrorWithSubackPacket') return 128;
    throw error;
  }
}

const hello = { serviceName: 'EdgeFC', functionName: 'helloworld' } as const;

describe('authentication', () => {
  test('an anonymous client is refused with AuthenticationFailed', async () => {
    expect(await failure(client().invokeFunction(hello))).toMatchObject({ code: ErrorCode.AuthenticationFailed });
  });

  test('a wrong password is refused, and the error says how to log in without naming the password', async () => {
    const error = await failure(client({ username: 'sensor-1', password: 'guess' }).invokeFunction(hello));
    expect(error).toMatchObject({ code: ErrorCode.AuthenticationFailed });
    expect(error.message).toMatch(/EDGEFC_USERNAME/);
    expect(error.message).not.toContain('guess');
  });

  test('another principal\'s client ID is refused', async () => {
    expect(await failure(raw('sensor-2', 'sensor-1'))).toMatchObject({ code: ErrorCode.AuthenticationFailed });
    expect(await failure(raw('sensor-2', 'sensor-1_mine'))).toMatchObject({ code: ErrorCode.AuthenticationFailed });
  });

  test('the right login works, with several connections of one principal at once', async () => {
    const [a, b] = [client(env.login('sensor-1')), client(env.login('sensor-1'))];
    expect(a.clientId).not.toBe(b.clientId);
    const results = await Promise.all([a.invokeFunction(hello), b.invokeFunction(hello)]);
    expect(results.map((r) => String(r.payload))).toEqual(['Hello from edgefc helloworld', 'Hello from edgefc helloworld']);
  });
});

describe('topics', () => {
  test('subscriptions to #, $SYS/# and other clients\' reply topics are refused; its own is granted', async () => {
    const mqtt = await raw('sensor-2');
    const filters = ['#', '$SYS/#', 'edgefc/v1/reply/sensor-1', 'edgefc/v1/reply/+', 'edgefc/v1/#', 'edgefc/v1/reply/sensor-2'];
    const granted: number[] = [];
    // MQTT.js rejects a SUBSCRIBE with any refused filter (SUBACK 0x80), so one filter at a time.
    for (const filter of filters) granted.push(await grantOf(mqtt, filter));
    expect(granted).toEqual([128, 128, 128, 128, 128, 1]);
  });

  test('a forged reply closes the forger\'s connection; the victim takes only real results (30 of 30)', async () => {
    const victim = client(env.login('sensor-1'));
    const forger = await raw('sensor-2');
    const closed = new Promise<void>((resolve) => forger.once('close', () => resolve()));
    const forged = encodeOkReply('guess', Buffer.from('FORGED'), false);
    forger.publish('edgefc/v1/reply/sensor-1', forged, { qos: 0 });
    await closed;
    const forger2 = await raw('sensor-2');
    forger2.publish('edgefc/v1/invoke/sensor-1/EdgeFC/helloworld', Buffer.from('as sensor-1'), { qos: 0 });
    await new Promise<void>((resolve) => forger2.once('close', () => resolve()));
    const results = await Promise.all(Array.from({ length: 30 }, () => victim.invokeFunction(hello)));
    expect(results.filter((r) => String(r.payload) === 'Hello from edgefc helloworld')).toHaveLength(30);
  });
});

describe('invoke policy', () => {
  test('a function that does not grant the device answers AccessDenied; its grantees are served', async () => {
    const line3 = { serviceName: 'Sec', functionName: 'line3' } as const;
    const closed = { serviceName: 'Sec', functionName: 'closed' } as const;
    expect(await failure(client(env.login('sensor-2')).invokeFunction(line3))).toMatchObject({ code: ErrorCode.AccessDenied });
    expect(await failure(client(env.login('sensor-1')).invokeFunction(closed))).toMatchObject({ code: ErrorCode.AccessDenied });
    expect(await failure(client(env.login('sensor-2')).invokeFunction({ ...closed, invocationType: 'Async' }))).toMatchObject({ code: ErrorCode.AccessDenied });
    await expect(client(env.login('sensor-1')).invokeFunction(line3)).resolves.toMatchObject({ requestId: expect.any(String) });
    await expect(client(env.login('op')).invokeFunction(closed)).resolves.toMatchObject({ requestId: expect.any(String) });
  });
});

describe('admin', () => {
  test('admin operations are for operators, and each one is in the audit log with its principal', async () => {
    const device = new AdminClient({ brokerUrl: env.gw.url, timeoutMs: 5000, ...env.login('sensor-1') });
    const operator = new AdminClient({ brokerUrl: env.gw.url, timeoutMs: 5000, ...env.login('op') });
    opened.push(device, operator);
    expect(await failure(device.call('list'))).toMatchObject({ code: ErrorCode.AccessDenied });
    expect(await failure(device.call('deploy', {}))).toMatchObject({ code: ErrorCode.AccessDenied });
    for (const operation of ['deploy-begin', 'deploy-chunk', 'deploy-commit', 'deploy-rollback', 'deployments-list', 'remove', 'logs-read', 'versions-publish', 'versions-list', 'versions-delete', 'aliases-create', 'aliases-update', 'aliases-delete', 'aliases-list']) {
      expect(await failure(device.call(operation, {}))).toMatchObject({ code: ErrorCode.AccessDenied });
    }
    // An operator's upload is audited with its principal, a chunk's bytes left out of the log.
    const begun = (await operator.call('deploy-begin', { size: 3, sha256: createHash('sha256').update('abc').digest('hex') })) as { uploadId: string };
    await operator.call('deploy-chunk', { uploadId: begun.uploadId, offset: 0, sha256: createHash('sha256').update('abc').digest('hex'), data: Buffer.from('abc').toString('base64') });
    expect(await failure(operator.call('deploy-commit', { uploadId: begun.uploadId }))).toMatchObject({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(/bad deploy bundle/) });
    await expect(operator.call('list')).resolves.toMatchObject({ services: expect.any(Array) });
    await expect(operator.call('logs-read', { function: 'EdgeFC/helloworld', tail: 1 })).resolves.toMatchObject({ lines: expect.any(Array) });
    const audit = join(env.gw.dataDir, 'audit.log');
    await waitFor(async () => {
      const lines = (await readFile(audit, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ principal: 'sensor-1', operation: 'list', outcome: 'denied', code: 'AccessDenied' }),
          expect.objectContaining({ principal: 'sensor-1', operation: 'deploy', outcome: 'denied' }),
          expect.objectContaining({ principal: 'op', operation: 'list', outcome: 'ok' }),
          expect.objectContaining({ principal: 'sensor-1', operation: 'deploy-begin', outcome: 'denied' }),
          expect.objectContaining({ principal: 'op', operation: 'deploy-chunk', outcome: 'ok', args: expect.not.objectContaining({ data: expect.anything() }) as unknown }),
          expect.objectContaining({ principal: 'op', operation: 'deploy-commit', outcome: 'failed', code: 'InvalidArgument' }),
          expect.objectContaining({ principal: 'sensor-1', operation: 'logs-read', outcome: 'denied' }),
          expect.objectContaining({ principal: 'op', operation: 'logs-read', outcome: 'ok' }),
        ]),
      );
    });
  });

  test('deploy loads no template outside the trusted directories, even for an operator', async () => {
    const operator = new AdminClient({ brokerUrl: env.gw.url, timeoutMs: 5000, ...env.login('op') });
    opened.push(operator);
    const outside = join(env.gw.dataDir, '..', '..', 'elsewhere.yml');
    expect(await failure(operator.call('deploy', { template: '/etc/passwd' }))).toMatchObject({ code: ErrorCode.AccessDenied });
    expect(await failure(operator.call('deploy', { template: outside }))).toMatchObject({ code: ErrorCode.InvalidArgument });
  });
});

describe('functions', () => {
  const probe = (what: string): Promise<Record<string, unknown>> =>
    client(env.login('op'))
      .invokeFunction({ serviceName: 'Sec', functionName: 'probe', payload: what })
      .then(({ payload }) => JSON.parse(String(payload)) as Record<string, unknown>);

  test('an instance logs in with its own credential, in FC\'s context.credentials shape', async () => {
    const seen = await probe('credentials');
    expect(seen).toMatchObject({ context: { accessKeyId: expect.stringMatching(/^fn-[a-z0-9]{10}$/), accessKeySecret: expect.any(String), securityToken: '' } });
    expect(seen['env']).toBe((seen['context'] as { accessKeyId: string }).accessKeyId);
  });

  test('a function calls a granted function through linkedge-core-sdk, and is refused one that does not grant it', async () => {
    expect(await probe('EdgeFC/helloworld')).toEqual({ ok: 'Hello from edgefc helloworld' });
    expect(await probe('Sec/line3')).toMatchObject({ code: ErrorCode.AccessDenied });
    const { payload } = await client(env.login('op')).invokeFunction({ serviceName: 'EdgeFC', functionName: 'invoker' });
    expect(JSON.parse(String(payload))).toMatchObject({ from: 'EdgeFC/helloworld' });
  });

  test('an instance\'s login stops working once the instance stops', async () => {
    const { context } = (await probe('credentials')) as { context: { accessKeyId: string; accessKeySecret: string } };
    const login = { username: context.accessKeyId, password: context.accessKeySecret };
    const before = await connectMqtt(env.gw.url, { ...login, clientId: login.username, connectTimeoutMs: 3000, reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => before.once('close', () => resolve()));
    // A redeploy retires every pool: their instances stop, and their logins with them (the
    // broker closes the connections made with a revoked login).
    await env.gw.gateway.redeploy();
    await closed;
    await before.endAsync(true);
    expect(await failure(connectMqtt(env.gw.url, { ...login, clientId: login.username, connectTimeoutMs: 3000, reconnectPeriod: 0 }))).toMatchObject({
      code: ErrorCode.AuthenticationFailed,
    });
  });

  test('a function may not use admin operations nor subscribe to everything', async () => {
    expect(await probe('admin')).toMatchObject({ grants: [1, 128], reply: { status: 'error', error: { code: ErrorCode.AccessDenied } } });
  });
});

describe('the CLI on the gateway\'s box', () => {
  test('needs no flags: it finds the local operator credential in the data directory', async () => {
    const result = await runCli(['invoke', 'EdgeFC/helloworld', '--data', env.gw.dataDir]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/Hello from edgefc helloworld/);
  });

  test('a profile set once (config file): broker and credential file; a device\'s profile is refused logs', async () => {
    const write = async (name: string, text: string): Promise<string> => {
      const path = join(env.dir, name);
      await writeFile(path, text, { mode: 0o600 });
      return path;
    };
    await write('op.credentials', JSON.stringify({ broker: 'mqtt://127.0.0.1:1', username: 'op', password: PASSWORDS.op }));
    await write('sensor.credentials', JSON.stringify({ broker: 'mqtt://127.0.0.1:1', username: 'sensor-1', password: PASSWORDS['sensor-1'] }));
    const config = await write(
      'config.yml',
      `default: box\nprofiles:\n  box:\n    broker: ${env.gw.url}\n    credentials: op.credentials\n  device:\n    broker: ${env.gw.url}\n    credentials: sensor.credentials\n`,
    );
    // --data: a directory without the local operator credential, so only the profile can log in.
    const listed = await runCli(['list', '--json', '--data', env.dir], 20_000, { EDGEFC_CONFIG: config });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ services: expect.any(Array) });
    const logs = await runCli(['logs', 'EdgeFC/helloworld', '--data', env.dir, '--profile', 'device'], 20_000, { EDGEFC_CONFIG: config });
    expect(logs.code).toBe(1);
    expect(logs.stderr).toMatch(/AccessDenied/);
    const fromEnv = await runCli(['list', '--data', env.dir], 20_000, { EDGEFC_CONFIG: config, EDGEFC_PROFILE: 'nope' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toMatch(/no profile "nope"/);
  });

  test('refuses a credential file other users can read, and never takes a password in argv', async () => {
    const loose = join(env.dir, 'loose.credentials');
    await copyFile(join(env.gw.dataDir, 'operator.credentials'), loose);
    await chmod(loose, 0o644);
    const refused = await runCli(['list', '--credentials', loose]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/AuthenticationFailed: .*readable by other users.*chmod 600/);
    const argv = await runCli(['list', '--username', 'op', '--password', PASSWORDS.op]);
    expect(argv.code).toBe(2);
    expect(argv.stderr).toMatch(/--password is not accepted/);
  });
});
