/**
 * Scenario 4: cold start, per runtime. The first call after deploy, two ways:
 *   - new gateway: a gateway process starts with the function deployed; first call from a client;
 *   - new function: in a running gateway, the first call of a function never called before
 *     (pools are created lazily, so this is the instance start alone);
 * against a warm call of the same function (baseline).
 *
 * Runtimes other than Node register here: add an entry to COLD_START_RUNTIMES whose `fn` writes
 * the template lines of a minimal echo function in that runtime, plus its goal.
 */
import { Histogram } from '../lib/histogram.js';
import type { BenchContext, BenchRow } from '../lib/context.js';
import { BENCH_SERVICE, echoFunction, writeTemplate, type BenchFunction } from '../lib/templates.js';
import { ratioOf } from './latency.js';

export interface ColdStartRuntime {
  runtime: string;
  fn: (name: string) => BenchFunction;
  /** The product target for its first call, ms (issue 5: Node ≤ 50 ms). */
  goalMs?: number;
  goalText?: string;
}

export const COLD_START_RUNTIMES: ColdStartRuntime[] = [
  {
    runtime: 'nodejs20',
    fn: (name) => echoFunction(name, { instanceConcurrency: 1, maxInstances: 1 }),
    goalMs: 50,
    goalText: 'first call ≤ 50 ms',
  },
];

export async function runColdStart(context: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const scenario = '4. Cold start (first call after deploy)';
  const gatewaySamples = context.quick ? 1 : 5;
  const functionSamples = context.quick ? 3 : 10;
  for (const runtime of COLD_START_RUNTIMES) {
    // New gateway, each sample a fresh gateway process.
    const newGateway = new Histogram();
    const gatewayStart = new Histogram();
    for (let sample = 0; sample < gatewaySamples; sample++) {
      context.progress(`${scenario}: ${runtime.runtime}, new gateway ${sample + 1}/${gatewaySamples}`);
      const template = await writeTemplate([runtime.fn('cold')]);
      const gateway = await context.startGateway('gateway-cold', { templatePath: template });
      gatewayStart.recordMs(gateway.startMs);
      const client = await context.startClient('client-cold', {
        protocol: 'fc',
        url: gateway.url,
        service: BENCH_SERVICE,
        fn: 'cold',
        connections: 1,
        clientIdPrefix: `cold${sample}_`,
      });
      newGateway.recordMs(await client.once(30_000));
      await client.stop();
      await gateway.stop();
    }

    // New functions in one running gateway, then warm calls of them.
    context.progress(`${scenario}: ${runtime.runtime}, ${functionSamples} new functions in a running gateway`);
    const names = Array.from({ length: functionSamples }, (_, index) => `cold${index}`);
    const template = await writeTemplate(names.map((name) => runtime.fn(name)));
    const gateway = await context.startGateway('gateway-cold', { templatePath: template });
    const client = await context.startClient('client-cold', {
      protocol: 'fc',
      url: gateway.url,
      service: BENCH_SERVICE,
      fn: 'cold0',
      connections: 1,
      clientIdPrefix: 'coldfn_',
    });
    const newFunction = new Histogram();
    const warm = new Histogram();
    for (const name of names) {
      newFunction.recordMs(await client.once(30_000, name));
      // The first warm calls still warm up the child's JIT; the tenth is the steady state.
      for (let call = 0; call < 10; call++) {
        const ms = await client.once(30_000, name);
        if (call >= 5) warm.recordMs(ms);
      }
    }
    await client.stop();
    await gateway.stop();

    const warmSummary = warm.summary();
    rows.push({ scenario, label: `baseline: ${runtime.runtime}, warm call`, latency: warmSummary });
    const cold = [
      { label: `${runtime.runtime}, first call, new gateway process`, histogram: newGateway, extra: { 'Gateway.start ms (p50)': Math.round(gatewayStart.summary().p50Us / 100) / 10 } },
      { label: `${runtime.runtime}, first call of a new function, running gateway`, histogram: newFunction, extra: {} },
    ];
    for (const entry of cold) {
      const summary = entry.histogram.summary();
      const row: BenchRow = {
        scenario,
        label: entry.label,
        baseline: `baseline: ${runtime.runtime}, warm call`,
        latency: summary,
        ratio: { p50: ratioOf(summary.p50Us, warmSummary.p50Us), p99: ratioOf(summary.p99Us, warmSummary.p99Us) },
        extra: { ...entry.extra, samples: summary.count },
      };
      if (runtime.goalMs !== undefined) {
        row.goal = { text: runtime.goalText ?? `≤ ${runtime.goalMs} ms`, met: summary.p50Us <= runtime.goalMs * 1000 };
      }
      rows.push(row);
    }
  }
  return rows;
}
