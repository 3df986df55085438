/**
 * The embedded broker over TLS (`--tls-cert`, `--tls-key`, `--tls-ca`): passwords travel
 * encrypted, and a client certificate signed by the CA logs in as the principal its CN names,
 * when the access file allows that principal a certificate.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode, FCClient, type FCClientOptions } from '../../src/index.js';
import { makeTestPki, type TestPki } from '../../bench/lib/throwaway-pki.js';
import { startSecurityEnv, type SecurityEnv } from './security-env.js';

let dir: string;
let pki: TestPki;
let env: SecurityEnv;
const clients: FCClient[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-tls-'));
  pki = await makeTestPki(dir);
  env = await startSecurityEnv({ tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca } });
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await env?.close();
  await rm(dir, { recursive: true, force: true });
});

function client(options: FCClientOptions): FCClient {
  const fc = new FCClient({ brokerUrl: env.gw.url, timeout: 5000, connectTimeout: 3000, ...options });
  clients.push(fc);
  return fc;
}

const hello = { serviceName: 'EdgeFC', functionName: 'helloworld' } as const;

async function failure(promise: Promise<unknown>): Promise<{ code?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as { code?: string },
  );
}

describe('mqtts on the embedded broker', () => {
  test('serves mqtts:// and a password login over it', async () => {
    expect(env.gw.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const { payload } = await client({ ...env.login('sensor-1'), tls: { ca: pki.ca } }).invokeFunction(hello);
    expect(String(payload)).toBe('Hello from edgefc helloworld');
  });

  test('a client certificate signed by the CA logs in as its CN, with no password', async () => {
    const plc = await pki.client('plc-7');
    const { payload } = await client({ clientId: 'plc-7', tls: { ca: pki.ca, ...plc } }).invokeFunction(hello);
    expect(String(payload)).toBe('Hello from edgefc helloworld');
  });

  test('a certificate is refused for a principal not allowed one, from another CA, or under another client ID', async () => {
    const sensor = await pki.client('sensor-1'); // sensor-1 logs in by password only
    expect(await failure(client({ clientId: 'sensor-1', tls: { ca: pki.ca, ...sensor } }).invokeFunction(hello))).toMatchObject({ code: ErrorCode.AuthenticationFailed });
    const stranger = await pki.stranger('plc-7');
    expect(await failure(client({ clientId: 'plc-7', tls: { ca: pki.ca, ...stranger } }).invokeFunction(hello))).toMatchObject({ code: ErrorCode.AuthenticationFailed });
    const plc = await pki.client('plc-7');
    expect(await failure(client({ clientId: 'sensor-2', tls: { ca: pki.ca, ...plc } }).invokeFunction(hello))).toMatchObject({ code: ErrorCode.AuthenticationFailed });
  });

  test('plain MQTT to the TLS port gets nowhere', async () => {
    const plainUrl = env.gw.url.replace('mqtts://', 'mqtt://');
    const error = await failure(client({ brokerUrl: plainUrl, ...env.login('sensor-1'), connectTimeout: 1000, timeout: 2000 }).invokeFunction(hello));
    expect(error).toMatchObject({ code: ErrorCode.ServiceUnavailable });
  });
});
