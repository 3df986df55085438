/**
 * `node dist/bench/trace-ab.js [--rounds N] [--block N]`: what trace context propagation costs a
 * sequential Sync call (docs/protocol.md §3.7). One embedded-broker gateway (insecure), the
 * echo sample in its own process, and two FCClients in this process: A sends trace context (the
 * default, a new trace per call), B does not (`traceContext: false`). Blocks of A and B
 * alternate (ABBA) so drift in the machine's load falls on both; prints each one's p50 and p99
 * and the ratio A/B of the p50s. `--aa` runs B against B, for the noise floor.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Gateway } from '../gateway/gateway.js';
import { FCClient } from 'edgefc';
import { BENCH_SERVICE, ECHO_FUNCTION, echoFunction } from './lib/templates.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, block: { type: 'string', default: '250' }, aa: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);
const block = Number(values.block);

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

const dir = await mkdtemp(join(tmpdir(), 'edgefc-trace-ab-'));
const fn = echoFunction(ECHO_FUNCTION);
const templatePath = join(dir, 'template.yml');
await writeFile(templatePath, `edgefc: 1\nservices:\n  ${BENCH_SERVICE}:\n    functions:\n      ${fn.name}:\n${fn.yaml}\n`);
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, functionLine: () => undefined };
const gateway = await Gateway.start({ templatePath, dataDir: join(dir, 'data'), insecure: true, host: '127.0.0.1', port: 0, logger: silent, storeSync: 'off' });
// --aa: both without trace context, to see the noise floor of the comparison itself.
const withTrace = new FCClient({ brokerUrl: gateway.brokerUrl, clientId: 'ab_trace', ...(values.aa ? { traceContext: false } : {}) });
const without = new FCClient({ brokerUrl: gateway.brokerUrl, clientId: 'ab_plain', traceContext: false });
const payload = 'x'.repeat(64);

async function run(client: FCClient, n: number, into: number[] | undefined): Promise<void> {
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await client.invokeFunction({ serviceName: BENCH_SERVICE, functionName: ECHO_FUNCTION, payload });
    into?.push((performance.now() - started) * 1000);
  }
}

try {
  await run(withTrace, 500, undefined);
  await run(without, 500, undefined);
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      await run(withTrace, block, a);
      await run(without, block, b);
    } else {
      await run(without, block, b);
      await run(withTrace, block, a);
    }
  }
  a.sort((x, y) => x - y);
  b.sort((x, y) => x - y);
  const row = (label: string, s: number[]): string => `${label}: n=${s.length} p50=${quantile(s, 0.5).toFixed(1)} µs p99=${quantile(s, 0.99).toFixed(1)} µs`;
  console.log(row('A with trace context   ', a));
  console.log(row('B without trace context', b));
  console.log(`ratio A/B of p50: ${(quantile(a, 0.5) / quantile(b, 0.5)).toFixed(3)}`);
} finally {
  await withTrace.close();
  await without.close();
  await gateway.stop();
  await rm(dir, { recursive: true, force: true });
}
