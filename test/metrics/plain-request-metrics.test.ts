/**
 * Plain MQTT 5 requests (docs/protocol.md §8) are counted and timed like enveloped Sync calls:
 * `edgefc_invocations_total` and the Sync end-to-end histogram
 * `edgefc_sync_request_duration_seconds`, read from a real /metrics scrape with a Prometheus
 * text-format parser. Mosquitto, since aedes speaks no MQTT 5.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoTestBroker, type RunningBroker } from '../fixtures/brokers.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { waitFor } from '../fixtures/wait.js';

describe('plain MQTT 5 requests in the Sync metrics', () => {
  let broker: RunningBroker<MosquittoTestBroker>;
  let env: TestGateway;

  beforeAll(async () => {
    broker = await startMosquitto();
    env = await startTestGateway({ brokerUrl: broker.url, gateway: { metrics: { host: '127.0.0.1', port: 0 } } });
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
    await broker?.close();
  });

  const scrape = async (): Promise<ParsedFamily[]> => {
    const token = (await readFile(join(env.dataDir, 'metrics.token'), 'utf8')).trim();
    const response = await fetch(`${env.gateway.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return parsePrometheusTextFormat(await response.text());
  };
  /** The parser keeps one label set per histogram (the last): only EdgeFC/jsonfield is called here, so it is its. */
  const syncTimed = (families: ParsedFamily[]): number => Number(families.find((f) => f.name === 'edgefc_sync_request_duration_seconds')?.metrics[0]?.buckets?.['+Inf'] ?? 0);
  const invocations = (families: ParsedFamily[], fn: string, outcome: string): number =>
    Number(families.find((f) => f.name === 'edgefc_invocations_total')?.metrics.find((m) => m.labels?.['function'] === fn && m.labels['type'] === 'Sync' && m.labels['outcome'] === outcome)?.value ?? 0);

  it('counts each by outcome and times each end to end, ok and failed alike', async () => {
    const before = await scrape();
    const v5 = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'v5_metrics' });
    try {
      await v5.subscribeAsync('edgefc/v1/reply/v5_metrics/#', { qos: 1 });
      const replies: string[] = [];
      v5.on('message', (_topic, _payload, packet) => replies.push(String(packet.properties?.userProperties?.['x-fc-status'])));
      const ask = (fn: string, payload: string): Promise<unknown> =>
        v5.publishAsync(`edgefc/v1/invoke/v5_metrics/${fn}`, payload, { qos: 1, properties: { responseTopic: 'edgefc/v1/reply/v5_metrics/rr', correlationData: Buffer.from(fn) } });
      for (let i = 0; i < 3; i += 1) await ask('EdgeFC/jsonfield', '{"key":"v5"}');
      await ask('EdgeFC/jsonfield', 'not json');
      await waitFor(() => expect(replies).toHaveLength(4), { timeout: 10_000, interval: 20 });
      expect(replies.filter((status) => status === '200')).toHaveLength(3);
    } finally {
      await v5.endAsync();
    }
    // The histogram is observed just after the reply is handed to the broker.
    await waitFor(async () => expect(syncTimed(await scrape())).toBe(syncTimed(before) + 4), { timeout: 5000, interval: 20 });
    const after = await scrape();
    expect(invocations(after, 'EdgeFC/jsonfield', 'ok')).toBe(invocations(before, 'EdgeFC/jsonfield', 'ok') + 3);
    const failed = after.find((f) => f.name === 'edgefc_invocations_total')?.metrics.filter((m) => m.labels?.['function'] === 'EdgeFC/jsonfield' && m.labels['outcome'] !== 'ok');
    expect(failed?.map((m) => Number(m.value)).reduce((a, b) => a + b, 0)).toBe(1);
  });
});
