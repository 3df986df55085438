/**
 * The NATS cluster loses its JetStream quorum (two of three nodes killed, -9), with a gateway
 * and a device on the survivor (docs/scale-out.md §5). Measured first, then held here:
 *
 * - Sync requests at QoS 0 are still answered (core NATS needs no quorum);
 * - requests at QoS 1 are not (each is a write to nats-server's MQTT stream, which has no leader),
 *   and a new MQTT CONNECT gets no CONNACK (sessions are kept in a stream too);
 * - `cluster-status`, asked at QoS 0 as `edgefc cluster status` asks it, still lists the gateway
 *   (the heartbeat is core NATS) and reports the streams as not listed;
 * - with one node back, QoS 1 calls are answered again and the streams are listed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import type { ClusterStatusReport } from '../../gateway/cluster/cluster-status.js';
import { FCClient } from '../../src/index.js';
import { settledCode } from '../fixtures/error-code.js';
import { connectAsDevice, startSecuredNatsCluster, type ClusterGateway, type SecuredNatsCluster } from '../fixtures/nats-cluster.js';
import { waitFor } from '../fixtures/wait.js';

let env: SecuredNatsCluster;
let gateway: ClusterGateway;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  env = await startSecuredNatsCluster(['sensor-1'], ['ops']);
  gateway = await env.startGateway();
}, 90_000);

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  await env?.close();
}, 60_000);

function device(qos: 0 | 1, suffix: string): FCClient {
  const client = new FCClient({ brokerUrl: env.cluster.nodes[0]?.mqttUrl ?? '', username: 'sensor-1', clientId: `sensor-1_${suffix}`, password: env.passwords.get('sensor-1') ?? '', timeout: 4_000, syncRequestQos: qos });
  closers.push(() => client.close());
  return client;
}

const echo = async (client: FCClient): Promise<string> => String((await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', payload: 'x' })).payload);

describe('the NATS cluster without a JetStream quorum', () => {
  test('QoS 0 calls and cluster status go on, QoS 1 calls and new connections wait for a node to come back', async () => {
    const qos0 = device(0, 'q0');
    const qos1 = device(1, 'q1');
    const ops = new AdminClient({ brokerUrl: env.cluster.nodes[0]?.mqttUrl ?? '', username: 'ops', password: env.passwords.get('ops') ?? '', timeoutMs: 5_000 });
    closers.push(() => ops.close());
    const status = async (): Promise<ClusterStatusReport> => (await ops.call('cluster-status', {}, 0)) as ClusterStatusReport;
    expect(await echo(qos0)).toBe('x');
    expect(await echo(qos1)).toBe('x');
    expect((await status()).streams?.listed).toBe(true);

    await env.cluster.kill(1);
    await env.cluster.kill(2);
    // The gateway moves to node 1 (the survivor); QoS 0 calls are answered again within seconds.
    await waitFor(async () => expect(await echo(qos0)).toBe('x'), { timeout: 60_000, interval: 200 });
    // Once JetStream has noticed (the first QoS 1 call after the kill was seen to get through): no answer.
    await expect.poll(async () => settledCode(qos1.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', payload: 'x', timeout: 3_000 })), { timeout: 60_000, interval: 100 }).toBe('RequestTimeout');
    expect(await settledCode(qos1.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', payload: 'x', timeout: 3_000 }))).toBe('RequestTimeout');
    await expect(connectAsDevice(env, 'sensor-1', 'new', { connectTimeoutMs: 4_000 })).rejects.toThrow(/CONNACK/);
    // Polled: the surviving node may still answer a stream list for a moment after the loss.
    await waitFor(async () => {
      const without = await status();
      expect(without.gateways.map((g) => g.pid)).toEqual([gateway.pid]);
      expect(without.streams).toMatchObject({ listed: false, reason: expect.any(String) });
    }, { timeout: 30_000, interval: 200 });
    // QoS 0 still, after all that.
    expect(await echo(qos0)).toBe('x');

    // One node back: a quorum of two. Its own /healthz may take longer than the fixture waits
    // (its MQTT consumers catching up, > 15 s seen on a loaded box, docs/cluster.md): the claim
    // is about calls, so that wait is not what is asserted.
    await env.cluster.restart(1).catch((error: unknown) => {
      if (!/not healthy/.test(String(error))) throw error;
    });
    // A device connecting now (CONNACK needs the sessions' stream, so the quorum) calls at QoS 1.
    await waitFor(async () => expect(await echo(device(1, `q1-${Date.now()}`))).toBe('x'), { timeout: 90_000, interval: 500 });
    await expect.poll(async () => (await status()).streams?.listed, { timeout: 30_000, interval: 200 }).toBe(true);
  }, 300_000);
});
