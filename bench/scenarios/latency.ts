/**
 * Scenarios 1 and 2: Sync round trip with 1 call in flight, and Sync throughput with 64 in
 * flight, each through the gateway and through the raw echo responder over the same broker.
 *
 * Every target is measured in each of `rounds` rounds, in rotating order, and the rounds are
 * merged: on a shared machine a burst of someone else's work then lands on both sides of a ratio
 * instead of on one.
 */
import type { BenchContext, BenchRow } from '../lib/context.js';
import { mergeLatency } from '../lib/context.js';
import { cpuPerCall, measure, type CpuPerCall, type MeasuredRun, type Target } from '../lib/measure.js';

export const PAYLOAD_BYTES = 64;

interface Comparison {
  label: string;
  target: string;
  baseline: string;
  /** Goals on the ratios (issue 14), checked in scenario 1 (p50, p99) and scenario 2 (throughput). */
  p50Goal?: number;
  p99Goal?: number;
  throughputGoal?: number;
}

/** Issue 14's goals: the default path (a function in its own process), and `isolation: none`. */
const DEFAULT_PATH_GOALS = { p50Goal: 1.5, p99Goal: 2, throughputGoal: 0.7 };
const IN_PROCESS_GOALS = { p50Goal: 1.1, throughputGoal: 0.85 };
/** Authentication and authorization may cost at most 5 % (issue 14). */
const SECURITY_GOALS = { p50Goal: 1.05, throughputGoal: 0.95 };

/**
 * Every target runs with authentication on, as a user deploys it (bench-logins.ts), except the
 * `-open` ones (`--insecure`, an anonymous Mosquitto), which are there to price security.
 */
export const COMPARISONS: readonly Comparison[] = [
  { label: 'gateway, Mosquitto', target: 'fc-mosquitto', baseline: 'raw-mosquitto', ...DEFAULT_PATH_GOALS },
  { label: 'gateway, embedded broker', target: 'fc-embedded', baseline: 'raw-mosquitto', ...DEFAULT_PATH_GOALS },
  { label: 'gateway, embedded broker (vs raw through the same aedes)', target: 'fc-embedded', baseline: 'raw-embedded' },
  // Against a raw echo at the QoS the default path uses (QoS 0 requests and replies, protocol.md §1.2).
  { label: 'gateway, Mosquitto (vs raw echo at QoS 0)', target: 'fc-mosquitto', baseline: 'raw-mosquitto-qos0' },
  { label: 'gateway, embedded broker (vs raw echo at QoS 0 through the same aedes)', target: 'fc-embedded', baseline: 'raw-embedded-qos0' },
  // The same echo run inside the gateway process (isolation: none): no process hop per call.
  { label: 'gateway, Mosquitto, isolation: none', target: 'fc-mosquitto-inside', baseline: 'raw-mosquitto', ...IN_PROCESS_GOALS },
  { label: 'gateway, embedded broker, isolation: none', target: 'fc-embedded-inside', baseline: 'raw-mosquitto', ...IN_PROCESS_GOALS },
  { label: 'MQTT 5 plain request (§8), Mosquitto', target: 'mqtt5-gateway', baseline: 'mqtt5-raw', ...DEFAULT_PATH_GOALS },
  { label: 'security cost: gateway, embedded broker (logins + ACL vs --insecure)', target: 'fc-embedded', baseline: 'fc-embedded-open', ...SECURITY_GOALS },
  { label: 'security cost: gateway, Mosquitto (logins + ACL vs anonymous)', target: 'fc-mosquitto', baseline: 'fc-mosquitto-open', ...SECURITY_GOALS },
  { label: 'security cost: raw echo, Mosquitto (logins + ACL vs anonymous)', target: 'raw-mosquitto', baseline: 'raw-mosquitto-open' },
  // TLS as its own rows (issue 14): the gateway over TLS against the raw echo over TLS through
  // the same aedes, and what TLS adds to the gateway itself.
  { label: 'gateway over TLS, embedded broker (vs raw echo over TLS through the same aedes)', target: 'fc-embedded-tls', baseline: 'raw-embedded-tls' },
  { label: 'TLS cost: gateway, embedded broker (mqtts vs mqtt)', target: 'fc-embedded-tls', baseline: 'fc-embedded' },
];

export interface LatencyOutcome {
  rows: BenchRow[];
  /** Merged runs per target key, for the quick mode's standing rule. */
  p50UsByTarget: Record<string, number>;
}

export async function runLatencyScenarios(context: BenchContext, targets: readonly Target[]): Promise<LatencyOutcome> {
  const rows: BenchRow[] = [];
  const p50UsByTarget: Record<string, number> = {};
  const loads = [
    { scenario: '1. Sync round trip, 1 in flight', inFlight: 1, goal: 'p50' as const },
    { scenario: '2. Sync throughput, 64 in flight', inFlight: 64, goal: 'throughput' as const },
  ];
  for (const load of loads) {
    const runs = new Map<string, MeasuredRun[]>(targets.map((target) => [target.key, []]));
    for (let round = 0; round < context.durations.rounds; round++) {
      // Rotate the order each round so no target always runs right after the same neighbour.
      const order = targets.map((_, index) => targets[(index + round) % targets.length] as Target);
      for (const target of order) {
        context.progress(`${load.scenario}: ${target.label} (round ${round + 1}/${context.durations.rounds})`);
        const run = await measure(target, {
          mode: 'closed',
          inFlight: load.inFlight,
          rate: 0,
          warmupMs: context.durations.warmupMs,
          durationMs: context.durations.measureMs,
          payloadBytes: PAYLOAD_BYTES,
          timeoutMs: 30_000,
        });
        runs.get(target.key)?.push(run);
      }
    }
    const summaries = new Map(
      targets.map((target) => {
        const measured = runs.get(target.key) ?? [];
        const completed = measured.reduce((sum, run) => sum + run.result.completed, 0);
        const windowMs = measured.reduce((sum, run) => sum + run.result.windowMs, 0);
        const errors = measured.reduce((sum, run) => sum + run.result.errors, 0);
        const samples = [...new Set(measured.flatMap((run) => run.result.errorSamples))];
        return [
          target.key,
          {
            target,
            latency: mergeLatency(measured.map((run) => run.result)).summary(),
            throughput: windowMs === 0 ? 0 : Math.round((completed / windowMs) * 1000),
            errors,
            samples,
            cpu: cpuPerCall(target, measured),
          },
        ];
      }),
    );
    if (load.inFlight === 1) {
      for (const [key, summary] of summaries) p50UsByTarget[key] = summary.latency.p50Us;
    }
    // Baselines first, then each comparison with its ratios.
    const baselineKeys = [...new Set(COMPARISONS.map((comparison) => comparison.baseline))];
    for (const key of baselineKeys) {
      const summary = summaries.get(key);
      if (summary === undefined) continue;
      rows.push({
        scenario: load.scenario,
        label: `baseline: ${summary.target.label}`,
        latency: summary.latency,
        throughput: summary.throughput,
        errors: summary.errors,
        extra: cpuExtra(summary.cpu),
        ...(summary.samples.length > 0 ? { notes: summary.samples.join('; ') } : {}),
      });
    }
    for (const comparison of COMPARISONS) {
      const target = summaries.get(comparison.target);
      const baseline = summaries.get(comparison.baseline);
      if (target === undefined || baseline === undefined) continue;
      const ratio = {
        p50: ratioOf(target.latency.p50Us, baseline.latency.p50Us),
        p99: ratioOf(target.latency.p99Us, baseline.latency.p99Us),
        p999: ratioOf(target.latency.p999Us, baseline.latency.p999Us),
        throughput: ratioOf(target.throughput, baseline.throughput),
      };
      const row: BenchRow = {
        scenario: load.scenario,
        label: comparison.label,
        baseline: `baseline: ${baseline.target.label}`,
        latency: target.latency,
        throughput: target.throughput,
        errors: target.errors,
        ratio,
        extra: cpuExtra(target.cpu),
        ...(target.samples.length > 0 ? { notes: target.samples.join('; ') } : {}),
      };
      if (load.goal === 'p50' && comparison.p50Goal !== undefined) {
        const p99Goal = comparison.p99Goal;
        row.goal =
          p99Goal === undefined
            ? { text: `p50 ≤ ${comparison.p50Goal}×`, met: ratio.p50 <= comparison.p50Goal }
            : { text: `p50 ≤ ${comparison.p50Goal}×, p99 ≤ ${p99Goal}×`, met: ratio.p50 <= comparison.p50Goal && ratio.p99 <= p99Goal };
      }
      if (load.goal === 'throughput' && comparison.throughputGoal !== undefined) {
        row.goal = { text: `req/s ≥ ${comparison.throughputGoal}×`, met: ratio.throughput >= comparison.throughputGoal };
      }
      rows.push(row);
    }
  }
  return { rows, p50UsByTarget };
}

export function ratioOf(value: number, baseline: number): number {
  return baseline === 0 ? Number.NaN : Math.round((value / baseline) * 100) / 100;
}

function cpuExtra(cpu: CpuPerCall): Record<string, number> {
  const extra: Record<string, number> = { 'client CPU µs/call': cpu.clientUs };
  if (cpu.gatewayUs !== undefined) extra['gateway CPU µs/call'] = cpu.gatewayUs;
  if (cpu.functionUs !== undefined) extra['function CPU µs/call'] = cpu.functionUs;
  if (cpu.responderUs !== undefined) extra['responder CPU µs/call'] = cpu.responderUs;
  if (cpu.brokerUs !== undefined) extra['Mosquitto CPU µs/call'] = cpu.brokerUs;
  return extra;
}
