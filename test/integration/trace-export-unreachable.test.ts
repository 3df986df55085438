/**
 * A collector that is down never breaks or holds a call (docs/operations.md §4): spans past the
 * bounded queue are dropped and counted, failed exports are counted, and a stop does not wait
 * for the collector past its bound. Real collectors: one that takes requests and never answers,
 * and a port nobody listens on.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import type { TraceExportConfig } from '../../gateway/tracing/trace-export-config.js';
import { startOtlpCollector } from '../fixtures/otlp-collector.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { waitFor } from '../fixtures/wait.js';

async function dropped(env: TestGateway, reason: string): Promise<number> {
  const token = (await readFile(join(env.dataDir, 'metrics.token'), 'utf8')).trim();
  const text = await (await fetch(`${env.gateway.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const family = parsePrometheusTextFormat(text).find((f) => f.name === 'edgefc_trace_spans_dropped_total');
  return Number(family?.metrics.find((m) => m.labels?.['reason'] === reason)?.value ?? Number.NaN);
}

async function withGateway(traceExport: TraceExportConfig, body: (env: TestGateway) => Promise<void>): Promise<void> {
  const env = await startTestGateway({ gateway: { traceExport, metrics: { host: '127.0.0.1', port: 0 } } });
  try {
    await body(env);
  } finally {
    await env.stop();
  }
}

describe('an unreachable OTLP collector', () => {
  it('one that never answers: every call succeeds, spans past the queue are dropped and counted, the stop is bounded', async () => {
    const collector = await startOtlpCollector('hang');
    try {
      await withGateway(
        // One export hangs (for 60 s) with one or two spans; two more may wait behind it; the rest are dropped.
        { url: `${collector.url}/v1/traces`, headers: {}, serviceName: 'edgefc-test', maxQueueSize: 2, scheduledDelayMs: 1, exportTimeoutMs: 60_000, shutdownTimeoutMs: 200 },
        async (env) => {
          const client = env.client();
          for (let i = 0; i < 30; i += 1) {
            const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', payload: `call ${i}` });
            expect(String(payload)).toBe(`call ${i}`);
          }
          await waitFor(() => expect(collector.requests.length).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
          expect(await dropped(env, 'queue_full')).toBeGreaterThanOrEqual(30 - 2 - 2);
          await waitFor(() => expect(env.lines.some((line) => line.includes('span queue full'))).toBe(true));
        },
      );
    } finally {
      await collector.close();
    }
  });

  it('a port nobody listens on: calls succeed, the failed exports are counted', async () => {
    const port = await freeLoopbackPort();
    await withGateway({ url: `http://127.0.0.1:${port}/v1/traces`, headers: {}, serviceName: 'edgefc-test', scheduledDelayMs: 1, exportTimeoutMs: 1000, shutdownTimeoutMs: 200 }, async (env) => {
      const client = env.client();
      for (let i = 0; i < 5; i += 1) expect(String((await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', payload: 'x' })).payload)).toBe('x');
      await waitFor(async () => expect(await dropped(env, 'export_failed')).toBeGreaterThan(0), { timeout: 20_000, interval: 100 });
      expect(env.lines.some((line) => line.includes('span export failed'))).toBe(true);
    });
  });
});
