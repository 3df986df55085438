/**
 * A/B of the metrics' cost on the call path: two gateways in this process, one with the
 * metrics endpoint (every call counted and timed) and one with `--metrics off`, sequential
 * Sync calls to EdgeFC/echo, in interleaved rounds (A B A B …) so drift hits both sides.
 * Prints each side's p50 and the ratio. `node dist/bench/metrics-ab.js [rounds] [calls]`.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FCClient } from 'edgefc';
import { Gateway } from '../gateway/gateway.js';
import { silentLogger } from '../gateway/logging/logger.js';
import { SAMPLE_TEMPLATE } from '../gateway/package-root.js';

const rounds = Number(process.argv[2] ?? 10);
const calls = Number(process.argv[3] ?? 500);

async function side(metrics: boolean): Promise<{ gateway: Gateway; client: FCClient; samples: number[] }> {
  const gateway = await Gateway.start({
    templatePath: SAMPLE_TEMPLATE,
    port: 0,
    insecure: true,
    logger: silentLogger,
    storeSync: 'off',
    functionUser: 'off',
    dataDir: await mkdtemp(join(tmpdir(), 'edgefc-ab-')),
    ...(metrics ? { metrics: { host: '127.0.0.1', port: 0 } } : {}),
  });
  return { gateway, client: new FCClient({ brokerUrl: gateway.brokerUrl, timeout: 10_000 }), samples: [] };
}

const p50 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const on = await side(true);
const off = await side(false);
const event = Buffer.from('x'.repeat(64));
try {
  for (const s of [on, off]) for (let i = 0; i < 200; i += 1) await s.client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', payload: event });
  for (let round = 0; round < rounds; round += 1) {
    for (const s of round % 2 === 0 ? [on, off] : [off, on]) {
      for (let i = 0; i < calls; i += 1) {
        const started = performance.now();
        await s.client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', payload: event });
        s.samples.push((performance.now() - started) * 1000);
      }
    }
  }
  const a = p50(on.samples);
  const b = p50(off.samples);
  process.stdout.write(`sequential Sync p50, ${rounds} interleaved rounds × ${calls} calls: metrics on ${a.toFixed(0)} µs, off ${b.toFixed(0)} µs, ratio ${(a / b).toFixed(3)}\n`);
} finally {
  for (const s of [on, off]) {
    await s.client.close();
    await s.gateway.stop();
  }
}
