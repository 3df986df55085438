/**
 * `edgefc cluster status` on a secured three-node NATS cluster with two gateways
 * (docs/protocol.md §9.16): whichever gateway the request reaches lists both with their load,
 * the JetStream streams' health (nats-server's MQTT layer's `$MQTT_*` streams, replicated R3) and
 * the servers as not readable by the gateway login; a gateway killed with -9 disappears within
 * the announced TTL; a device is refused (AccessDenied) and can read no announcement.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connect } from '@nats-io/transport-node';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import type { ClusterStatusReport } from '../../gateway/cluster/cluster-status.js';
import { CLUSTER_GATEWAYS_SUBJECT } from '../../gateway/cluster/cluster-subjects.js';
import { killHard, runCli } from '../fixtures/cli-process.js';
import { settledCode } from '../fixtures/error-code.js';
import { connectAsDevice, startSecuredNatsCluster, type ClusterGateway, type SecuredNatsCluster } from '../fixtures/nats-cluster.js';
import { waitFor } from '../fixtures/wait.js';

let env: SecuredNatsCluster;
let first: ClusterGateway;
let second: ClusterGateway;
const admins: AdminClient[] = [];
const raw: MqttClient[] = [];

beforeAll(async () => {
  env = await startSecuredNatsCluster(['sensor-1'], ['ops']);
  first = await env.startGateway();
  second = await env.startGateway();
}, 90_000);

afterAll(async () => {
  await Promise.all(admins.map((admin) => admin.close()));
  await Promise.all(raw.map((client) => client.endAsync(true)));
  await env?.close();
}, 60_000);

function admin(name: string, node = 0): AdminClient {
  const client = new AdminClient({ brokerUrl: env.cluster.nodes[node]?.mqttUrl ?? '', username: name, password: env.passwords.get(name) ?? '', timeoutMs: 10_000 });
  admins.push(client);
  return client;
}

async function status(client: AdminClient): Promise<ClusterStatusReport> {
  return (await client.call('cluster-status')) as ClusterStatusReport;
}

describe('edgefc cluster status in NATS mode', () => {
  test('lists both gateways with their load, the streams\' health and the servers as not readable; --json and the table', async () => {
    const ops = admin('ops');
    // The second gateway's first announcement reached the first at once (an unknown gateway is answered), so both are known.
    await expect.poll(async () => (await status(ops)).gateways.length, { timeout: 10_000, interval: 100 }).toBe(2);
    const result = await runCli(['cluster', 'status', '--json', '--broker', env.cluster.nodes[1]?.mqttUrl ?? '', '--username', 'ops'], 30_000, { EDGEFC_PASSWORD: env.passwords.get('ops') ?? '' });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ClusterStatusReport;
    expect(report.mode).toBe('nats');
    expect(report.heartbeat?.ttlMs).toBeGreaterThan(report.heartbeat?.intervalMs ?? Infinity);
    expect(new Set(report.gateways.map((g) => g.pid))).toEqual(new Set([first.pid, second.pid]));
    expect(report.gateways.map((g) => g.id)).toContain(report.answeredBy);
    for (const gateway of report.gateways) {
      expect(gateway).toMatchObject({ mode: 'nats', version: expect.stringMatching(/^\d+\.\d+\.\d+/), host: expect.any(String) });
      expect(gateway.natsServer).toMatch(/^n[123]$/);
      expect(gateway.uptimeMs).toBeGreaterThan(0);
      expect(gateway.load.rssBytes).toBeGreaterThan(10_000_000);
      for (const field of ['callsInFlight', 'callsPerSecond', 'instances', 'eventLoopDelayMs'] as const) expect(gateway.load[field]).toBeGreaterThanOrEqual(0);
    }
    // nats-server's MQTT layer keeps its sessions in a stream, created by the first MQTT connection: R3 as deploy/nats asks.
    expect(report.streams?.listed).toBe(true);
    const streams = report.streams?.listed === true ? report.streams.items : [];
    const sessions = streams.find((s) => s.name === '$MQTT_sess');
    expect(sessions, JSON.stringify(streams)).toBeDefined();
    expect(sessions?.replicas).toBe(3);
    expect(sessions?.leader).toMatch(/^n[123]$/);
    expect(sessions?.current).toContain(sessions?.leader);
    // The gateway login is not in the system account: reported, not an error.
    expect(report.servers).toMatchObject({ listed: false, reason: expect.stringMatching(/system/) });

    const table = await runCli(['cluster', 'status', '--broker', env.cluster.nodes[2]?.mqttUrl ?? '', '--username', 'ops'], 30_000, { EDGEFC_PASSWORD: env.passwords.get('ops') ?? '' });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^mode: nats, answered by /);
    expect(table.stdout).toMatch(/GATEWAY +HOST +PID/);
    expect(table.stdout).toContain(String(first.pid));
    expect(table.stdout).toContain(String(second.pid));
    expect(table.stdout).toMatch(/\$MQTT_sess +3 +n[123]/);
    expect(table.stdout).toMatch(/servers: not listed: /);
  }, 60_000);

  test('a device is answered AccessDenied, can subscribe to no announcement, and cannot announce', async () => {
    expect(await settledCode(admin('sensor-1').call('cluster-status'))).toBe('AccessDenied');
    const device = await connectAsDevice(env, 'sensor-1', 'spy');
    raw.push(device);
    const topic = CLUSTER_GATEWAYS_SUBJECT.replaceAll('.', '/');
    await expect(device.subscribeAsync(topic, { qos: 0 })).rejects.toThrow(/Subscribe error/);
    // A forged announcement is dropped by nats-server (publish not allowed): no third gateway appears.
    await device.publishAsync(topic, Buffer.from(JSON.stringify({ id: 'forged', host: 'x', pid: 1, version: '0.0.0', mode: 'nats', startedAt: 1, at: 1, uptimeMs: 1, ttlMs: 600_000, load: { callsInFlight: 0, callsPerSecond: 0, instances: 0, rssBytes: 0, eventLoopDelayMs: 0 } })), { qos: 0 });
    const report = await status(admin('ops', 2));
    expect(report.gateways.map((g) => g.id)).not.toContain('forged');
    // Audited (§9.8) by whichever gateway answered: the device's refusal and the operator's reads.
    await waitFor(async () => {
      const lines = (await Promise.all([first, second].map(async (gateway) => readFile(join(gateway.dataDir, 'audit.log'), 'utf8').catch(() => ''))))
        .join('\n')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ principal: 'sensor-1', operation: 'cluster-status', outcome: 'denied', code: 'AccessDenied' }),
          expect.objectContaining({ principal: 'ops', operation: 'cluster-status', outcome: 'ok' }),
        ]),
      );
    });
    // And on the NATS port a device cannot log in at all (broker-config nats: MQTT only).
    await expect(connect({ servers: env.cluster.natsUrls, user: 'sensor-1', pass: env.passwords.get('sensor-1') ?? '', reconnect: false, timeout: 5_000 })).rejects.toThrow(/authoriz/i);
  }, 30_000);

  test('a gateway killed with -9 disappears from the list within the announced TTL', async () => {
    const ops = admin('ops', 1);
    const before = await status(ops);
    expect(before.gateways).toHaveLength(2);
    const ttlMs = before.heartbeat?.ttlMs ?? 0;
    const killedAt = Date.now();
    await killHard(first.proc);
    // Every answer now comes from the survivor (the killed one left the queue group with its socket).
    await expect.poll(async () => (await status(ops)).gateways.map((g) => g.pid), { timeout: ttlMs + 10_000, interval: 200 }).toEqual([second.pid]);
    const gone = Date.now() - killedAt;
    // The TTL plus one admin round trip on a loaded box: the survivor forgot it by its own clock.
    expect(gone).toBeLessThan(ttlMs + 10_000);
  }, 60_000);
});
