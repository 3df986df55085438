/**
 * Several gateways on a secured three-node NATS cluster (docs/cluster.md): devices speak MQTT to
 * nats-server's MQTT listeners, gateways (`edgefc gateway --nats`) take calls in one queue group.
 * Every call runs on one gateway and is answered once; calls spread over both gateways; with one
 * gateway killed (-9) mid-run the other answers every call made after; the permissions
 * `edgefc broker-config nats` wrote keep each device to its own topics.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connect } from '@nats-io/transport-node';
import { FCClient } from '../../src/index.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { decodeReply } from '../../src/protocol/reply.js';
import { runCli } from '../fixtures/cli-process.js';
import { settledCode } from '../fixtures/error-code.js';
import { callRepeating } from '../fixtures/repeat-call.js';
import { startSecuredNatsCluster, type ClusterGateway, type SecuredNatsCluster } from '../fixtures/nats-cluster.js';
import { waitFor } from '../fixtures/wait.js';

let env: SecuredNatsCluster;
let first: ClusterGateway;
let second: ClusterGateway;
const clients: FCClient[] = [];
const raw: MqttClient[] = [];

beforeAll(async () => {
  env = await startSecuredNatsCluster(['sensor-1', 'sensor-2', 'sensor-3'], ['ops']);
  first = await env.startGateway();
  second = await env.startGateway();
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(raw.map((client) => client.endAsync(true)));
  await env?.close();
}, 60_000);

/** A device on node `node` (0-2) of the cluster, as FCClient connects: broker address and login only. */
function device(name: string, node: number, timeout = 10_000, syncRequestQos: 0 | 1 = 1): FCClient {
  const client = new FCClient({ brokerUrl: env.cluster.nodes[node]?.mqttUrl ?? '', username: name, password: env.passwords.get(name) ?? '', timeout, syncRequestQos });
  clients.push(client);
  return client;
}

async function rawDevice(name: string, node: number, suffix: string): Promise<MqttClient> {
  const client = await connectMqtt(env.cluster.nodes[node]?.mqttUrl ?? '', {
    clientId: `${name}_${suffix}`,
    username: name,
    password: env.passwords.get(name) ?? '',
    protocolVersion: 4,
    connectTimeoutMs: 5_000,
  });
  raw.push(client);
  return client;
}

/** `timeoutMs`: this call's deadline instead of the client's. */
async function callPid(client: FCClient, timeoutMs?: number): Promise<number> {
  const { payload } = await client.invokeFunction({ serviceName: 'Test', functionName: 'pid', payload: 'x', ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }) });
  return Number(String(payload));
}

describe('Sync calls through a NATS cluster', () => {
  test('calls from devices on every node spread over both gateways, each answered once', async () => {
    // sensor-3 sends its Sync requests at QoS 0 (FCClient syncRequestQos): answered all the same.
    const devices = ['sensor-1', 'sensor-2', 'sensor-3'].map((name, node) => device(name, node, 10_000, node === 2 ? 0 : 1));
    // A second connection of sensor-1 sees every reply sent to sensor-1 (§2.6): counts them.
    const watcher = await rawDevice('sensor-1', 1, 'watch');
    const repliesById = new Map<string, number>();
    watcher.on('message', (_topic, payload) => {
      const { requestId } = decodeReply(payload);
      repliesById.set(requestId, (repliesById.get(requestId) ?? 0) + 1);
    });
    await watcher.subscribeAsync('edgefc/v1/reply/sensor-1', { qos: 1 });

    const perDevice = 60;
    const answers = await Promise.all(
      devices.map(async (client) => {
        const pids: number[] = [];
        for (let batch = 0; batch < perDevice / 6; batch++) pids.push(...(await Promise.all(Array.from({ length: 6 }, () => callPid(client)))));
        return pids;
      }),
    );
    const all = answers.flat();
    expect(all).toHaveLength(3 * perDevice);
    const byGateway = new Map<number, number>();
    for (const pid of all) byGateway.set(pid, (byGateway.get(pid) ?? 0) + 1);
    expect(new Set(byGateway.keys())).toEqual(new Set([first.pid, second.pid]));
    // A queue group of two splits evenly (measured ~49/51 %); either gateway under a quarter is a bug.
    for (const count of byGateway.values()) expect(count).toBeGreaterThan(all.length / 4);
    await expect.poll(() => repliesById.size).toBe(perDevice);
    expect([...repliesById.values()].every((count) => count === 1)).toBe(true);
  });

  test('the gateway still checks invokers: a device calling a function that does not grant it gets AccessDenied', async () => {
    const client = device('sensor-2', 2);
    expect(await settledCode(client.invokeFunction({ serviceName: 'Test', functionName: 'secret', payload: 'x' }))).toBe('AccessDenied');
  });

  test('edgefc versions publish works in NATS mode, and a call naming the version is served whichever gateway takes it (more: nats-versions.test.ts)', async () => {
    const env2 = { EDGEFC_PASSWORD: env.passwords.get('ops') ?? '' };
    const login = ['--broker', env.cluster.nodes[0]?.mqttUrl ?? '', '--username', 'ops'];
    const published = await runCli(['versions', 'publish', 'EdgeFC', ...login], 30_000, env2);
    expect(published.code, published.stdout + published.stderr).toBe(0);
    expect(published.stdout).toMatch(/published version 1 of EdgeFC \(1 function\(s\), deployment d1\)/);
    // Whichever gateway takes the call serves version 1.
    for (let i = 0; i < 4; i += 1) {
      const client = device('sensor-1', i % 3);
      const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', qualifier: '1', payload: `v1-${i}` });
      expect(String(payload)).toBe(`v1-${i}`);
    }
  });

  test('nats-server keeps a device to its own topics: no calls as another, no reading another\'s replies', async () => {
    const intruder = await rawDevice('sensor-3', 0, 'intruder');
    // Another device's reply topic, and everything: the SUBSCRIBE is refused (SUBACK 0x80).
    await expect(intruder.subscribeAsync('edgefc/v1/reply/sensor-1', { qos: 0 })).rejects.toThrow(/Subscribe error/);
    await expect(intruder.subscribeAsync('#', { qos: 0 })).rejects.toThrow(/Subscribe error/);

    // A request published on sensor-1's topic never reaches a gateway: the gateway would answer
    // its malformed frame on sensor-1's reply topic, where sensor-1's watcher listens. A call on
    // the intruder's own topic, published after it on the same connection, is answered.
    const victim = await rawDevice('sensor-1', 0, 'victim');
    const seen: string[] = [];
    victim.on('message', (_topic, payload) => seen.push(decodeReply(payload).requestId));
    await victim.subscribeAsync('edgefc/v1/reply/sensor-1', { qos: 1 });
    await intruder.publishAsync('edgefc/v1/invoke/sensor-1/Test/pid', Buffer.from('not a frame'), { qos: 0 });
    const own = device('sensor-3', 0);
    expect(await callPid(own)).toBeGreaterThan(0);
    // The same malformed frame on the intruder's own topic is answered (to it): the path works.
    const answered: string[] = [];
    intruder.on('message', (_topic, payload) => answered.push(decodeReply(payload).requestId));
    await intruder.subscribeAsync('edgefc/v1/reply/sensor-3', { qos: 1 });
    await intruder.publishAsync('edgefc/v1/invoke/sensor-3/Test/pid', Buffer.from('not a frame'), { qos: 0 });
    await expect.poll(() => answered.length).toBe(1);
    expect(seen).toEqual([]);
  });

  test('a device login is refused on the NATS port: devices connect over MQTT only', async () => {
    await expect(connect({ servers: env.cluster.natsUrls, user: 'sensor-1', pass: env.passwords.get('sensor-1') ?? '', reconnect: false, timeout: 5_000 })).rejects.toThrow(/authoriz/i);
  });

  test('with one gateway killed (-9) mid-run, the other answers the calls', async () => {
    const client = device('sensor-1', 0, 3_000);
    const before = await Promise.all(Array.from({ length: 20 }, () => callPid(client)));
    expect(new Set(before)).toEqual(new Set([first.pid, second.pid]));
    type Outcome = { startedAfterSettle: boolean; pid: number | 'timeout' };
    const outcomes: Outcome[] = [];
    let killed = false;
    let settled = false;
    let stop = false;
    // Settled: no node holds the killed gateway's connection (nor so its queue subscriptions).
    const gone = async (): Promise<void> => {
      await expect.poll(async () => (await env.cluster.connectionNames()).some((name) => name.endsWith(`/${first.pid}`)), { timeout: 10_000, interval: 5 }).toBe(false);
      settled = true;
    };
    let watching: Promise<void> | undefined;
    // Four callers keep calls in flight; the kill lands among them.
    const worker = async (): Promise<void> => {
      while (!stop) {
        const startedAfterSettle = settled;
        const pid = await callPid(client).catch((error: unknown) => {
          if ((error as { code?: string }).code !== 'RequestTimeout') throw error;
          return 'timeout' as const;
        });
        outcomes.push({ startedAfterSettle, pid });
        if (outcomes.filter((outcome) => outcome.startedAfterSettle).length >= 60) stop = true;
        if (!killed && outcomes.length >= 20) {
          killed = true;
          process.kill(-first.pid, 'SIGKILL');
          watching = gone();
        }
      }
    };
    expect((await env.cluster.connectionNames()).some((name) => name.endsWith(`/${first.pid}`))).toBe(true);
    await Promise.all(Array.from({ length: 4 }, worker));
    await watching;
    // Calls that were running on the killed gateway, or routed to it as it died, time out (the
    // caller retries them with the same request ID, §10.2): a handful at most, all before the
    // servers dropped its connection. From then on, every call is the survivor's.
    const afterSettle = outcomes.filter((outcome) => outcome.startedAfterSettle);
    expect(afterSettle.length).toBeGreaterThanOrEqual(60);
    expect(new Set(afterSettle.map((outcome) => outcome.pid))).toEqual(new Set([second.pid]));
    expect(outcomes.filter((outcome) => outcome.pid === 'timeout').length).toBeLessThanOrEqual(8);
  }, 60_000);

  test('with the node a gateway is connected to killed (-9), it reconnects to another and calls are answered again', async () => {
    const node = await env.cluster.nodeOf(`/${second.pid}`);
    expect(node).toBeDefined();
    const index = node ?? 0;
    // Requests at QoS 1 (the default): each is a write to nats-server's MQTT stream, which must
    // be replicated (mqtt.stream_replicas, docs/cluster.md) to survive the node.
    const client = device('sensor-2', (index + 1) % 3, 3_000);
    expect(await callPid(client)).toBe(second.pid);
    await env.cluster.kill(index);
    // nats.js moves the gateway to a surviving node; publishers may stall a few seconds while
    // the cluster gives up on the lost one (4-10 s measured idle, FACTS.md; once over 30 s with
    // the whole suite running on 2 cores, as the MQTT stream elected a new leader).
    await waitFor(async () => expect(await callPid(client)).toBe(second.pid), { timeout: 75_000, interval: 100 });
    // Answered, all of them: the claim is that calls work again, not how fast a loaded 2-core box
    // (the whole suite) answers 20 at once while the cluster settles (3 s was seen to miss one,
    // and a connection to stay stuck: each caller reconnects and repeats, test/fixtures/repeat-call.ts).
    const reconnect = (): FCClient => device('sensor-2', (index + 1) % 3, 3_000);
    const after = await Promise.all(
      Array.from({ length: 20 }, () =>
        callRepeating(client, reconnect, async (caller, requestId) => Number(String((await caller.invokeFunction({ serviceName: 'Test', functionName: 'pid', payload: 'x', timeout: 10_000, requestId })).payload))),
      ),
    );
    expect(new Set(after)).toEqual(new Set([second.pid]));
    expect(await env.cluster.nodeOf(`/${second.pid}`)).not.toBe(index);
  }, 120_000);
});
