/**
 * Attacks on a gateway served through a Mosquitto that `edgefc broker-config mosquitto`
 * configured, and only that (mosquitto-env.ts): each one is refused every time, by Mosquitto
 * (login, topics) or by the gateway (who may call what), with the result a client can see.
 *
 * Principals: sensor-1 (device, group line-3, may publish factory/+/temp), sensor-2 (device),
 * alice (operator). EdgeFC/helloworld is for group line-3 and functions; Test/secret for the
 * default (operators and functions).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Gateway } from '../../gateway/gateway.js';
import { functionPrincipalName } from '../../gateway/security/function-principals.js';
import { ErrorCode, FCClient } from '../../src/index.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { encodeFrame } from '../../src/protocol/envelope.js';
import { decodeReply, encodeOkReply } from '../../src/protocol/reply.js';
import { adminTopic, invokeTopic, replyTopic } from '../../src/protocol/topics.js';
import { settledCode } from '../fixtures/error-code.js';
import { barrier, Clients, NOT_AUTHORIZED, received, settledPubackCode } from './mosquitto-clients.js';
import { startGatewayOn, startSecuredMosquitto, type SecuredMosquitto } from './mosquitto-env.js';

let env: SecuredMosquitto;
let gateway: Gateway;
let clients: Clients;

beforeAll(async () => {
  env = await startSecuredMosquitto();
  gateway = await startGatewayOn(env);
  clients = new Clients(env);
});

afterEach(() => clients.closeAll());

afterAll(async () => {
  await gateway?.stop();
  await env?.close();
});

function completed(service: string, fn: string): number {
  return gateway.stats().find((entry) => entry.service === service && entry.function === fn)?.completed ?? 0;
}

/** An envelope request (docs/protocol.md §3) as a device would publish it. */
function request(id: string): Buffer {
  return encodeFrame({ id, type: 'Sync', timeout: 5_000 }, Buffer.from('forged'));
}

describe('logging in', () => {
  test('anonymous, a wrong password, an unknown user, a guessed function login: AuthenticationFailed', async () => {
    const url = env.broker.url;
    const attempts = [
      connectMqtt(url, { connectTimeoutMs: 5_000 }),
      connectMqtt(url, { connectTimeoutMs: 5_000, protocolVersion: 5 }),
      connectMqtt(url, { connectTimeoutMs: 5_000, username: 'sensor-1', password: 'not-the-password' }),
      connectMqtt(url, { connectTimeoutMs: 5_000, username: 'nobody', password: 'whatever-it-is' }),
      connectMqtt(url, { connectTimeoutMs: 5_000, username: functionPrincipalName('EdgeFC', 'invoker'), password: 'a-guess-at-it' }),
      connectMqtt(url, { connectTimeoutMs: 5_000, username: env.gatewayLogin.username, password: 'a-guess-at-it' }),
    ];
    expect(await Promise.all(attempts.map(settledCode))).toEqual(Array(attempts.length).fill(ErrorCode.AuthenticationFailed));
    // FCClient, as a device would use it, says the same when it calls.
    const anonymous = clients.track(new FCClient({ brokerUrl: url, clientId: 'sensor-1' }));
    expect(await settledCode(anonymous.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' }))).toBe(ErrorCode.AuthenticationFailed);
  });

  test("another principal's client ID gives none of its topics: sensor-2 connected as client ID sensor-1", async () => {
    const victim = clients.fc('sensor-1');
    const thief = await clients.mqtt('sensor-2', { clientId: 'sensor-1' });
    const stolen = received(thief);
    await thief.subscribeAsync([replyTopic('sensor-1'), `${replyTopic('sensor-1')}/#`], { qos: 1 });
    const before = completed('EdgeFC', 'helloworld');
    // Calls and admin operations as sensor-1: refused by Mosquitto (PUBACK 0x87), nothing runs.
    expect(await settledPubackCode(thief.publishAsync(invokeTopic('sensor-1', 'EdgeFC', 'helloworld'), request('a'.repeat(21)), { qos: 1 }))).toBe(NOT_AUTHORIZED);
    expect(await settledPubackCode(thief.publishAsync(adminTopic('sensor-1', 'list'), request('b'.repeat(21)), { qos: 1 }))).toBe(NOT_AUTHORIZED);
    for (let i = 0; i < 3; i += 1) {
      expect((await victim.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload: 'mine' })).payload).toMatch(/hello/i);
    }
    const own = await barrier(thief, 'sensor-2');
    expect(stolen).toEqual([own]);
    expect(completed('EdgeFC', 'helloworld')).toBe(before + 3);
  });
});

describe('reading and writing topics', () => {
  test('subscribing to #, $SYS/#, edgefc/v1/#, another reply topic: nothing of anyone else arrives', async () => {
    const spy = await clients.mqtt('sensor-2');
    const filters = ['#', '$SYS/#', 'edgefc/v1/#', 'edgefc/v1/invoke/#', 'edgefc/v1/reply/+', replyTopic('sensor-1'), 'factory/#'];
    const granted = await spy.subscribeAsync(filters, { qos: 1 });
    // Mosquitto 2.0.11's acl_file grants every SUBSCRIBE and checks each message on delivery; a
    // broker that refuses (0x80, MQTT 5 0x87) is as good. What matters: nothing arrives.
    for (const grant of granted) expect([0, 1, 0x80, NOT_AUTHORIZED]).toContain(grant.qos);
    const seen = received(spy);
    const victim = clients.fc('sensor-1');
    await victim.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload: 'private' });
    const operator = clients.admin('alice');
    await operator.call('list');
    await (await clients.mqtt('sensor-1')).publishAsync('factory/line-3/temp', '21.5', { qos: 1 });
    const own = await barrier(spy, 'sensor-2');
    // Its own barrier reply (once per filter it matches) is all it gets.
    expect([...new Set(seen)]).toEqual([own]);
  });

  test('forged replies on another reply topic never reach the victim: 30 Sync calls, 30 real results', async () => {
    const victim = clients.fc('sensor-1');
    const inbox = await clients.mqtt('sensor-1');
    const inboxTopics = received(inbox);
    const inboxPayloads: Buffer[] = [];
    inbox.on('message', (_topic, payload) => inboxPayloads.push(payload));
    await inbox.subscribeAsync(replyTopic('sensor-1'), { qos: 1 });
    const forger = await clients.mqtt('sensor-2', { protocolVersion: 4 });
    const forger5 = await clients.mqtt('sensor-2');
    for (let i = 0; i < 30; i += 1) {
      // The forger knows the request ID (the strongest case): its reply would win the race.
      const requestId = `forged${String(i).padStart(15, '0')}`;
      const forged = encodeOkReply(requestId, Buffer.from('FORGED'), false);
      const call = victim.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload: 'real', requestId });
      await forger.publishAsync(replyTopic('sensor-1'), forged, { qos: 1 }); // MQTT 3.1.1: dropped without a word
      expect(await settledPubackCode(forger5.publishAsync(replyTopic('sensor-1'), forged, { qos: 1 }))).toBe(NOT_AUTHORIZED);
      expect((await call).payload).toMatch(/hello/i);
    }
    await barrier(inbox, 'sensor-1');
    const replies = inboxPayloads.filter((_, index) => inboxTopics[index] === replyTopic('sensor-1')).map((payload) => decodeReply(payload));
    expect(replies).toHaveLength(30);
    expect(replies.filter((reply) => reply.status === 'ok' && reply.payload.toString() === 'FORGED')).toEqual([]);
  });

  test("an MQTT 5 Response Topic naming another principal's reply topic: AccessDenied on the caller's own, nothing elsewhere", async () => {
    const victimInbox = await clients.mqtt('sensor-1');
    const delivered = received(victimInbox);
    await victimInbox.subscribeAsync(replyTopic('sensor-1'), { qos: 1 });
    const caller = await clients.mqtt('sensor-2');
    await caller.subscribeAsync(replyTopic('sensor-2'), { qos: 1 });
    const answer = new Promise<{ topic: string; code: string | undefined }>((resolve) => {
      caller.once('message', (topic, _payload, packet) => {
        const code = packet.properties?.userProperties?.['x-fc-error-code'];
        resolve({ topic, code: Array.isArray(code) ? code[0] : code });
      });
    });
    await caller.publishAsync(invokeTopic('sensor-2', 'EdgeFC', 'invoker'), 'hi', { qos: 1, properties: { responseTopic: replyTopic('sensor-1') } });
    expect(await answer).toEqual({ topic: replyTopic('sensor-2'), code: ErrorCode.AccessDenied });
    const own = await barrier(victimInbox, 'sensor-1');
    expect(delivered).toEqual([own]);
  });
});

describe('what the gateway refuses', () => {
  test('a function the device is not granted: AccessDenied, and it does not run', async () => {
    const before = completed('Test', 'secret');
    expect(await settledCode(clients.fc('sensor-2').invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' }))).toBe(ErrorCode.AccessDenied);
    expect(await settledCode(clients.fc('sensor-1').invokeFunction({ serviceName: 'Test', functionName: 'secret' }))).toBe(ErrorCode.AccessDenied);
    expect(completed('Test', 'secret')).toBe(before);
  });

  test('admin operations from a device, deploy included: AccessDenied, audited, nothing changes', async () => {
    const device = clients.admin('sensor-1');
    const template = gateway.registry.templatePath;
    for (const operation of ['list', 'stats', 'invocations-list', 'deploy']) {
      expect(await settledCode(device.call(operation, operation === 'deploy' ? { template } : {}))).toBe(ErrorCode.AccessDenied);
    }
    expect(gateway.registry.functions()).toHaveLength(4);
    // The audit log is appended off the reply's path.
    const audit = async (): Promise<unknown[]> =>
      (await readFile(join(env.dataDir, 'audit.log'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as unknown);
    await expect.poll(audit).toContainEqual(expect.objectContaining({ principal: 'sensor-1', operation: 'deploy', outcome: 'denied' }));
  });

  test('a trigger topic the device was not granted: Mosquitto refuses the publish, no call is made', async () => {
    const denied = await clients.mqtt('sensor-2');
    expect(await settledPubackCode(denied.publishAsync('factory/line-9/temp', '99', { qos: 1 }))).toBe(NOT_AUTHORIZED);
    // The control: sensor-1's grant. Its call is stored after any the refused publish made.
    await (await clients.mqtt('sensor-1')).publishAsync('factory/line-3/temp', '21.5', { qos: 1 });
    const operator = clients.admin('alice');
    const topics = async (): Promise<string[]> => {
      const { invocations } = (await operator.call('invocations-list', { function: 'Test/ingest' })) as { invocations: { topic?: string }[] };
      return invocations.map((record) => record.topic ?? '');
    };
    await expect.poll(topics, { timeout: 10_000 }).toContain('factory/line-3/temp');
    expect(await topics()).not.toContain('factory/line-9/temp');
  });
});
