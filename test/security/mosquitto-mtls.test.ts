/**
 * Certificate principals on Mosquitto: broker-config's --tls-* listener takes a verified client
 * certificate's CN as the username (use_identity_as_username), so the same per-user ACL applies.
 * Certificates come from tls-certificates.ts (openssl, P-256 keys: ~10 ms each).
 */
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { localGroupId } from '../../gateway/cli/broker-files.js';
import type { Gateway } from '../../gateway/gateway.js';
import { ErrorCode, FCClient } from '../../src/index.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { invokeTopic } from '../../src/protocol/topics.js';
import { settledCode } from '../fixtures/error-code.js';
import { Clients, NOT_AUTHORIZED, settledPubackCode } from './mosquitto-clients.js';
import { startGatewayOn, startSecuredMosquitto, type SecuredMosquitto } from './mosquitto-env.js';
import { makeTestPki } from '../../bench/lib/throwaway-pki.js';

let pki: string;
let env: SecuredMosquitto;
let gateway: Gateway;
let clients: Clients;

const issued = new Map<string, { ca: Buffer; cert: Buffer; key: Buffer }>();

function tlsOf(name: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  const tls = issued.get(name);
  if (tls === undefined) throw new Error(`no certificate issued for ${name}`);
  return tls;
}

beforeAll(async () => {
  pki = await mkdtemp(join(tmpdir(), 'edgefc-pki-'));
  // Mosquitto reads its certificate and key after dropping root, as user mosquitto, as it does
  // the password file: the key is root:mosquitto 0640, as broker-config tells.
  await chmod(pki, 0o711);
  const certs = await makeTestPki(pki);
  const group = process.getuid?.() === 0 ? await localGroupId('mosquitto') : undefined;
  if (group !== undefined) await chown(join(pki, 'server.key'), 0, group);
  await chmod(join(pki, 'server.key'), group === undefined ? 0o600 : 0o640);
  for (const name of ['plc-7', 'intruder']) issued.set(name, { ca: certs.ca, ...(await certs.client(name)) });
  issued.set('forged-plc-7', { ca: certs.ca, ...(await certs.stranger('plc-7')) });
  env = await startSecuredMosquitto({ tls: { certfile: join(pki, 'server.pem'), keyfile: join(pki, 'server.key'), cafile: join(pki, 'ca.pem') } });
  await env.addUser('plc-7', 'device', '--certificate', '--no-password');
  await env.reconfigure();
  gateway = await startGatewayOn(env);
  clients = new Clients(env);
});

afterEach(() => clients.closeAll());

afterAll(async () => {
  await gateway?.stop();
  await env?.close();
  await rm(pki, { recursive: true, force: true });
});

const tlsUrl = (): string => env.tlsUrl ?? '';

test('a certificate principal calls what devices may, as the CN its certificate names', async () => {
  // No username: the client ID is the principal's name, so FCClient's topics are plc-7's.
  const plc = clients.track(new FCClient({ brokerUrl: tlsUrl(), clientId: 'plc-7', tls: tlsOf('plc-7') }));
  const { payload } = await plc.invokeFunction({ serviceName: 'EdgeFC', functionName: 'invoker' });
  expect(String(payload)).toContain('EdgeFC/helloworld');
  expect(await settledCode(plc.invokeFunction({ serviceName: 'Test', functionName: 'secret' }))).toBe(ErrorCode.AccessDenied);
});

test("a certificate gives only its own principal's topics, and no password login", async () => {
  const plc = await connectMqtt(tlsUrl(), { ...tlsOf('plc-7'), connectTimeoutMs: 5_000, reconnectPeriod: 0, protocolVersion: 5, clientId: 'plc-7_raw' });
  clients.track({ close: () => plc.endAsync(true) });
  expect(await settledPubackCode(plc.publishAsync(invokeTopic('sensor-1', 'EdgeFC', 'helloworld'), 'x', { qos: 1 }))).toBe(NOT_AUTHORIZED);
  // Not even an access-file principal's certificate makes a username it claims on the password listener.
  expect(await settledCode(connectMqtt(env.broker.url, { connectTimeoutMs: 5_000, username: 'plc-7' }))).toBe(ErrorCode.AuthenticationFailed);
});

test('no certificate, or one from another CA: refused at the handshake', async () => {
  const attempts = [
    connectMqtt(tlsUrl(), { ca: tlsOf('plc-7').ca, connectTimeoutMs: 1_500, reconnectPeriod: 500 }),
    connectMqtt(tlsUrl(), { ...tlsOf('forged-plc-7'), ca: tlsOf('plc-7').ca, connectTimeoutMs: 1_500, reconnectPeriod: 500 }),
  ];
  for (const code of await Promise.all(attempts.map(settledCode))) expect(code).not.toBe('ok');
});

test('a certificate of the trusted CA for a name not in the access file connects, and may do nothing', async () => {
  // Mosquitto cannot tell: every certificate the CA signs logs in. Its CN has no ACL lines.
  const intruder = await connectMqtt(tlsUrl(), { ...tlsOf('intruder'), connectTimeoutMs: 5_000, reconnectPeriod: 0, protocolVersion: 5, clientId: 'intruder' });
  clients.track({ close: () => intruder.endAsync(true) });
  expect(await settledPubackCode(intruder.publishAsync(invokeTopic('intruder', 'EdgeFC', 'invoker'), 'x', { qos: 1 }))).toBe(NOT_AUTHORIZED);
});
