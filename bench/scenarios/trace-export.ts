/**
 * Scenario 6: what span export costs a sequential Sync call, and that a gateway without an OTLP
 * endpoint pays nothing for it (docs/operations.md §4.5). Run by bench/trace-export-ab.ts as its
 * own process (three gateways in one process, rotating rounds; see there); its JSON line
 * becomes rows here: `off` is the baseline, `off2` (the same, again) the noise floor, `on` the
 * gateway exporting every call's span to an OTLP/HTTP receiver.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchRow } from '../lib/context.js';
import type { LatencySummary } from '../lib/histogram.js';
import { ratioOf } from './latency.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'trace-export-ab.js');

interface AbResult {
  sides: { label: string; latency: LatencySummary }[];
  otelModulesWithoutEndpoint: number;
  otelModulesWithEndpoint: number;
}

const LABELS: Record<string, string> = {
  off: 'gateway, no OTLP endpoint',
  off2: 'gateway, no OTLP endpoint (a second one: the noise floor)',
  on: 'gateway exporting a span per call (OTLP/HTTP)',
};

export async function runTraceExport(context: BenchContext): Promise<BenchRow[]> {
  const scenario = '6. Span export, sequential Sync, embedded broker (A/B in one process)';
  const args = ['--json', '--rounds', context.quick ? '2' : '10', '--calls', context.quick ? '100' : '500'];
  context.progress(`${scenario}: node ${SCRIPT} ${args.join(' ')}`);
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [SCRIPT, ...args], { timeout: context.quick ? 60_000 : 300_000, maxBuffer: 1 << 20 }, (error, out, err) => {
      if (error !== null) reject(new Error(`trace-export-ab failed: ${error.message}\n${err}`));
      else resolve(out);
    });
  });
  const line = stdout.split('\n').find((text) => text.startsWith('{'));
  if (line === undefined) return [{ scenario, label: 'trace-export-ab printed no result', notes: stdout.slice(-300) }];
  const result = JSON.parse(line) as AbResult;
  const baseline = result.sides.find((side) => side.label === 'off');
  return result.sides.map((side): BenchRow => {
    const label = LABELS[side.label] ?? side.label;
    if (side === baseline || baseline === undefined) {
      return { scenario, label, latency: side.latency, extra: { '@opentelemetry modules loaded': result.otelModulesWithoutEndpoint } };
    }
    return {
      scenario,
      label,
      baseline: LABELS['off'] ?? 'off',
      latency: side.latency,
      ratio: { p50: ratioOf(side.latency.p50Us, baseline.latency.p50Us), p99: ratioOf(side.latency.p99Us, baseline.latency.p99Us), p999: ratioOf(side.latency.p999Us, baseline.latency.p999Us) },
      ...(side.label === 'on' ? { extra: { '@opentelemetry modules loaded': result.otelModulesWithEndpoint } } : {}),
    };
  });
}
