/**
 * The metrics endpoint on port 0 with fake readiness and a GatewayMetrics fed by hand: who may
 * read what, 503 with reasons, and the Async and percentile figures read back through a
 * Prometheus text-format parser.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../gateway/metrics/gateway-metrics.js';
import { startMetricsServer, type MetricsServer, type Readiness } from '../../gateway/metrics/metrics-server.js';
import { bearerMatches } from '../../gateway/metrics/metrics-token.js';

const TOKEN = 'a-token-of-at-least-thirty-two-characters-0001';

describe('metrics server', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (metrics: GatewayMetrics, readiness: Readiness): Promise<string> => {
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, token: TOKEN, registry: metrics.registry, readiness: () => readiness });
    return server.url;
  };
  const newMetrics = (): GatewayMetrics =>
    new GatewayMetrics({
      functions: () => [{ service: 'S', function: 'f', queued: 2, running: 1, instances: 1, provisioned: 1, idle: 0, completed: 0, failed: 0, throttled: 0 }],
      asyncUnfinished: () => [{ seq: 1, service: 'S', function: 'f', state: 'enqueued', attempts: 0, nextAttemptAt: undefined, createdAt: 1_000 }],
      now: () => 31_000,
    });

  it('answers 503 with the reasons to a token holder, and only the status to others', async () => {
    const url = await start(newMetrics(), { broker: false, store: true, template: true });
    const anonymous = await fetch(`${url}/readyz`);
    expect([anonymous.status, await anonymous.text()]).toEqual([503, 'not ready\n']);
    const detail = await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(detail.status).toBe(503);
    expect(await detail.json()).toMatchObject({ ready: false, broker: false, reasons: ['broker not ready'] });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
  });

  it('serves counters, levels and Async figures in the text format', async () => {
    const metrics = newMetrics();
    metrics.invocation('S/f', 'Async', 'HandledInvocationError', 0.002);
    metrics.invocation('S/f', 'Sync', 'ok', 0.001, 'prod');
    metrics.asyncRetry('S/f');
    metrics.asyncDeadLetter('S/f', 'failed');
    metrics.asyncDeadLetter('S/f', 'expired');
    const url = await start(metrics, { broker: true, store: true, template: true });
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const families = parsePrometheusTextFormat(await response.text());
    const value = (name: string, labels: Record<string, string> = {}): number =>
      Number(families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value);
    expect(value('edgefc_invocations_total', { function: 'S/f', type: 'Async', outcome: 'HandledInvocationError', qualifier: 'LATEST' })).toBe(1);
    // §3.2a: a call to a version or an alias is counted under the qualifier it named.
    expect(value('edgefc_invocations_total', { function: 'S/f', type: 'Sync', outcome: 'ok', qualifier: 'prod' })).toBe(1);
    expect(value('edgefc_async_retries_total', { function: 'S/f' })).toBe(1);
    expect(value('edgefc_async_dead_letters_total', { reason: 'failed' })).toBe(1);
    expect(value('edgefc_async_dead_letters_total', { reason: 'expired' })).toBe(1);
    expect(value('edgefc_async_backlog', { function: 'S/f' })).toBe(1);
    expect(value('edgefc_async_oldest_waiting_seconds')).toBe(30);
    expect(value('edgefc_queue_depth', { function: 'S/f' })).toBe(2);
  });

  it('estimates percentiles from the handler histogram', async () => {
    const metrics = newMetrics();
    for (let i = 0; i < 98; i += 1) metrics.invocation('S/f', 'Sync', 'ok', 0.0008);
    metrics.invocation('S/f', 'Sync', 'ok', 0.2);
    metrics.invocation('S/f', 'Sync', 'ok', 0.2);
    expect(await metrics.latency('S/f')).toEqual({ count: 100, p50: 0.001, p90: 0.001, p99: 0.25 });
    expect(await metrics.latency('S/none')).toEqual({ count: 0, p50: undefined, p90: undefined, p99: undefined });
  });

  it('compares tokens whatever their length', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerMatches(TOKEN, TOKEN)).toBe(false);
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
  });
});
