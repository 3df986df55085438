/**
 * Scenario 4: cold start, per runtime. The first call after deploy, two ways:
 *   - new gateway: a gateway process starts with the function deployed; first call from a client;
 *   - new function: in a running gateway, the first call of a function never called before
 *     (pools are created lazily, so this is the instance start alone);
 * against a warm call of the same function (baseline). For runtimes whose program the gateway
 * starts and waits for (custom web server, go1), also the program's own start outside the
 * gateway (bench/lib/process-start.ts), sampled just before each first call of both kinds.
 *
 * Runtimes register here: add an entry to COLD_START_RUNTIMES whose `fn` writes the template
 * lines of a minimal echo function in that runtime (bench/lib/templates.ts), plus its goal.
 */
import { Histogram, type LatencySummary } from '../lib/histogram.js';
import type { BenchContext, BenchRow } from '../lib/context.js';
import { instanceConfigFor, runtimeApiStart, webServerStart, type ProcessStartProbe } from '../lib/process-start.js';
import {
  BENCH_SERVICE,
  customEventEcho,
  customWebEcho,
  echoFunction,
  runtimeApiEcho,
  writeTemplate,
  type BenchFunction,
} from '../lib/templates.js';
import { ratioOf } from './latency.js';

/** Issue 5's targets for a first call's p50. */
export type ColdStartGoal =
  /** At most `ms` (Node.js: 50 ms). */
  | { kind: 'absolute'; ms: number }
  /** At most the program's own start (`processStart`, same run) + `marginMs` (custom HTTP: 20 ms). */
  | { kind: 'overProcessStart'; marginMs: number };

export interface ColdStartRuntime {
  /** Starts every row label: the runtime and, where it matters, what runs in it. */
  label: string;
  fn: (name: string) => BenchFunction;
  goal?: ColdStartGoal;
  /** The program's start outside the gateway, and what "ready" means for it (shown in the label). */
  processStart?: { probe: ProcessStartProbe; readiness: string };
}

export const COLD_START_RUNTIMES: ColdStartRuntime[] = [
  {
    label: 'nodejs20',
    fn: (name) => echoFunction(name, { instanceConcurrency: 1, maxInstances: 1 }),
    goal: { kind: 'absolute', ms: 50 },
  },
  {
    label: 'custom web server (Node.js node:http echo)',
    fn: customWebEcho,
    goal: { kind: 'overProcessStart', marginMs: 20 },
    processStart: { probe: webServerStart, readiness: 'spawn → port accepts, 1 ms poll' },
  },
  {
    // Every call starts a process, so a warm call is no cheaper by design: no goal.
    label: 'custom non-web (sh echo, a process per call)',
    fn: customEventEcho,
  },
  {
    // No Go toolchain here: a Node.js client of the same runtime API (bench/functions/api-echo).
    label: 'go1 (Node.js stand-in for a Go binary)',
    fn: runtimeApiEcho,
    processStart: { probe: runtimeApiStart, readiness: 'spawn → first GET /next' },
  },
];

export async function runColdStart(context: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const runtime of COLD_START_RUNTIMES) rows.push(...(await measureRuntime(context, runtime)));
  return rows;
}

const SCENARIO = '4. Cold start (first call after deploy)';

async function measureRuntime(context: BenchContext, runtime: ColdStartRuntime): Promise<BenchRow[]> {
  const gatewaySamples = context.quick ? 1 : 5;
  const functionSamples = context.quick ? 3 : 10;
  const { label } = runtime;

  // The program's own start, sampled just before every first call, so that a burst of other
  // people's load lands on both sides of the comparison.
  const processStart = runtime.processStart === undefined ? undefined : new Histogram();
  const sampleProcessStart = async (templatePath: string, name: string, brokerUrl: string): Promise<void> => {
    if (runtime.processStart === undefined || processStart === undefined) return;
    const config = await instanceConfigFor(templatePath, BENCH_SERVICE, name, brokerUrl);
    processStart.recordMs(await runtime.processStart.probe(config));
  };

  // New gateway, each sample a fresh gateway process.
  const newGateway = new Histogram();
  const gatewayStart = new Histogram();
  for (let sample = 0; sample < gatewaySamples; sample++) {
    context.progress(`${SCENARIO}: ${label}, new gateway ${sample + 1}/${gatewaySamples}`);
    const template = await writeTemplate([runtime.fn('cold')]);
    const gateway = await context.startGateway('gateway-cold', { templatePath: template });
    gatewayStart.recordMs(gateway.startMs);
    await sampleProcessStart(template, 'cold', gateway.url);
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
  context.progress(`${SCENARIO}: ${label}, ${functionSamples} new functions in a running gateway`);
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
    await sampleProcessStart(template, name, gateway.url);
    newFunction.recordMs(await client.once(30_000, name));
    // The first warm calls still warm up the child's JIT; the tenth is the steady state.
    for (let call = 0; call < 10; call++) {
      const ms = await client.once(30_000, name);
      if (call >= 5) warm.recordMs(ms);
    }
  }
  await client.stop();
  await gateway.stop();

  const warmLabel = `baseline: ${label}, warm call`;
  const warmSummary = warm.summary();
  const rows: BenchRow[] = [{ scenario: SCENARIO, label: warmLabel, latency: warmSummary }];
  const startSummary = processStart?.summary();
  if (startSummary !== undefined) {
    rows.push({
      scenario: SCENARIO,
      label: `baseline: ${label}, process start outside the gateway (${runtime.processStart?.readiness ?? ''})`,
      latency: startSummary,
      extra: { samples: startSummary.count },
    });
  }
  const cold = [
    { label: `${label}, first call, new gateway process`, histogram: newGateway, extra: { 'Gateway.start ms (p50)': roundMs(gatewayStart.summary().p50Us) } },
    { label: `${label}, first call of a new function, running gateway`, histogram: newFunction, extra: {} },
  ];
  for (const entry of cold) {
    const summary = entry.histogram.summary();
    const row: BenchRow = {
      scenario: SCENARIO,
      label: entry.label,
      baseline: warmLabel,
      latency: summary,
      ratio: { p50: ratioOf(summary.p50Us, warmSummary.p50Us), p99: ratioOf(summary.p99Us, warmSummary.p99Us) },
      extra: { ...entry.extra, ...overProcessStart(summary, startSummary), samples: summary.count },
    };
    if (runtime.goal !== undefined) row.goal = goalOf(runtime.goal, summary, startSummary);
    rows.push(row);
  }
  return rows;
}

/** Both numbers the relative goal compares, for the details column. */
function overProcessStart(firstCall: LatencySummary, start: LatencySummary | undefined): Record<string, number> {
  if (start === undefined) return {};
  return { 'process start ms (p50)': roundMs(start.p50Us), 'over process start ms (p50)': roundMs(firstCall.p50Us - start.p50Us) };
}

function goalOf(goal: ColdStartGoal, firstCall: LatencySummary, start: LatencySummary | undefined): NonNullable<BenchRow['goal']> {
  if (goal.kind === 'absolute') return { text: `first call ≤ ${goal.ms} ms`, met: firstCall.p50Us <= goal.ms * 1000 };
  const text = `first call ≤ process start + ${goal.marginMs} ms`;
  // Without a process-start sample the goal cannot be judged ('?' in the table).
  return { text, met: start === undefined ? undefined : firstCall.p50Us <= start.p50Us + goal.marginMs * 1000 };
}

/** µs → ms with one decimal. */
function roundMs(us: number): number {
  return Math.round(us / 100) / 10;
}
