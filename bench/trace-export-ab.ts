/**
 * `node dist/bench/trace-export-ab.js [--rounds N] [--calls N] [--compare DIR]… [--json]`: what span export
 * costs a sequential Sync call, and that a gateway without an OTLP endpoint pays nothing for it
 * (docs/operations.md §4).
 *
 * Three gateways in this process, the echo sample in its own process each: `off` and `off2`
 * without an endpoint (their ratio is the comparison's noise floor), `on` exporting every call's
 * span to an OTLP/HTTP receiver in this process (answers 200, decodes nothing). Rounds
 * interleave the three in rotating order so drift in the machine's load falls on all. Before the
 * `on` gateway starts, the module hooks (bench/lib/module-watch.ts) report how many
 * @opentelemetry modules the process has resolved: 0 is the claim.
 *
 * `--compare DIR` (repeatable): one more side per DIR, a gateway without an endpoint from another
 * built checkout (`git archive <commit> | tar -x -C DIR`, node_modules linked, `npx tsc`). Code
 * loaded from another directory is a module graph of its own, which here ran ~10–25 % slower
 * than the same code shared with the other sides, so a fair before/after compares two such
 * copies: the commit before span export and this one.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { watchModules } from './lib/module-watch.js';

const modules = watchModules();
const { FCClient } = await import('edgefc');
const { Gateway } = await import('../gateway/gateway.js');
const { silentLogger } = await import('../gateway/logging/logger.js');
const { SAMPLE_TEMPLATE } = await import('../gateway/package-root.js');
type GatewayOptions = import('../gateway/gateway.js').GatewayOptions;
type GatewayType = import('../gateway/gateway.js').Gateway;
type ClientType = import('edgefc').FCClient;

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, calls: { type: 'string', default: '500' }, compare: { type: 'string', multiple: true }, json: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);
const calls = Number(values.calls);

let received = 0;
const collector = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    received += 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
const collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;

interface Side {
  label: string;
  gateway: GatewayType;
  client: ClientType;
  samples: number[];
}

async function side(label: string, extra: Partial<GatewayOptions>, gatewayClass: { start(options: GatewayOptions): Promise<GatewayType> } = Gateway): Promise<Side> {
  const gateway = await gatewayClass.start({
    templatePath: SAMPLE_TEMPLATE,
    port: 0,
    insecure: true,
    logger: silentLogger,
    storeSync: 'off',
    functionUser: 'off',
    dataDir: await mkdtemp(join(tmpdir(), 'edgefc-otel-ab-')),
    ...extra,
  });
  return { label, gateway, client: new FCClient({ brokerUrl: gateway.brokerUrl, timeout: 10_000 }), samples: [] };
}

const p50 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const p99 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.99)] ?? Number.NaN;

const off = await side('off', {});
const off2 = await side('off2', {});
const compared: Side[] = [];
for (const dir of values.compare ?? []) {
  const module = (await import(pathToFileURL(join(dir, 'dist', 'gateway', 'gateway.js')).href)) as { Gateway: { start(options: GatewayOptions): Promise<GatewayType> } };
  compared.push(await side(basename(dir), {}, module.Gateway));
}
await modules.settle();
const otelBefore = modules.urls().filter((url) => url.includes('/@opentelemetry/')).length;
const on = await side('on', { traceExport: { url: collectorUrl, headers: {}, serviceName: 'edgefc-bench' } });
await modules.settle();
const otelAfter = modules.urls().filter((url) => url.includes('/@opentelemetry/')).length;
const sides = [off, off2, on, ...compared];
const event = Buffer.from('x'.repeat(64));
try {
  for (const s of sides) for (let i = 0; i < 200; i += 1) await s.client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', payload: event });
  for (let round = 0; round < rounds; round += 1) {
    // Rotate the order: each side goes first, second and third equally often.
    const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
    for (const s of order) {
      for (let i = 0; i < calls; i += 1) {
        const started = performance.now();
        await s.client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', payload: event });
        s.samples.push((performance.now() - started) * 1000);
      }
    }
  }
  if (values.json) {
    // For bench/scenarios/trace-export.ts (`npm run bench`): each side's latencies, µs.
    const summary = (samples: number[]): Record<string, number> => {
      const sorted = [...samples].sort((a, b) => a - b);
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      return { count: sorted.length, meanUs: sorted.reduce((a, b) => a + b, 0) / sorted.length, minUs: sorted[0] ?? Number.NaN, p50Us: at(0.5), p90Us: at(0.9), p99Us: at(0.99), p999Us: at(0.999), maxUs: sorted.at(-1) ?? Number.NaN };
    };
    process.stdout.write(`${JSON.stringify({ sides: sides.map((s) => ({ label: s.label, latency: summary(s.samples) })), otelModulesWithoutEndpoint: otelBefore, otelModulesWithEndpoint: otelAfter, exportRequests: received })}\n`);
  }
  process.stdout.write(`sequential Sync, ${rounds} rotating rounds × ${calls} calls per side (µs):\n`);
  for (const s of sides) process.stdout.write(`  ${s.label.padEnd(5)} p50 ${p50(s.samples).toFixed(0)}  p99 ${p99(s.samples).toFixed(0)}\n`);
  process.stdout.write(`  ratio p50 off2/off (noise floor) ${(p50(off2.samples) / p50(off.samples)).toFixed(3)}, on/off ${(p50(on.samples) / p50(off.samples)).toFixed(3)}`);
  const [first, ...others] = compared;
  process.stdout.write(first === undefined ? '\n' : `, ${others.map((o) => `${o.label}/${first.label} ${(p50(o.samples) / p50(first.samples)).toFixed(3)}`).join(', ')}\n`);
  process.stdout.write(`  @opentelemetry module URLs resolved: ${otelBefore} with the gateways without an endpoint, ${otelAfter} once one exports; export requests received: ${received}\n`);
} finally {
  for (const s of sides) {
    await s.client.close();
    await s.gateway.stop();
  }
  collector.close();
}
