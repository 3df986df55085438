/**
 * The readable table: ratios against the baseline first (what the numbers mean on any machine),
 * absolute numbers second (what they were on this one). Markdown, so BENCHMARKS.md can hold it.
 */
import type { BenchRow } from './context.js';
import type { MachineInfo } from './machine.js';

function num(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return '';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? '' : `${value.toFixed(2)}×`;
}

function goal(row: BenchRow): string {
  if (row.goal === undefined) return '';
  const mark = row.goal.met === undefined ? '?' : row.goal.met ? 'met' : 'MISSED';
  return `${row.goal.text}: ${mark}`;
}

function details(row: BenchRow): string {
  const parts = Object.entries(row.extra ?? {}).map(([key, value]) => `${key} ${typeof value === 'number' ? num(value, Number.isInteger(value) ? 0 : 1) : value}`);
  if (row.errors !== undefined && row.errors > 0) parts.push(`errors ${row.errors}`);
  if (row.notes !== undefined) parts.push(row.notes.slice(0, 200));
  return parts.join('; ');
}

export function renderTable(rows: readonly BenchRow[]): string {
  const out: string[] = [];
  let scenario = '';
  for (const row of rows) {
    if (row.scenario !== scenario) {
      scenario = row.scenario;
      out.push('', `### ${scenario}`, '');
      out.push('| | vs | p50 × | p99 × | p99.9 × | req/s × | goal | p50 µs | p99 µs | p99.9 µs | max µs | req/s | details |');
      out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    }
    const latency = row.latency;
    out.push(
      `| ${row.label} | ${row.baseline?.replace(/^baseline: /, '') ?? '(baseline)'} | ${ratio(row.ratio?.p50)} | ${ratio(row.ratio?.p99)} | ${ratio(row.ratio?.p999)} | ${ratio(row.ratio?.throughput)} | ${goal(row)} | ${num(latency?.p50Us)} | ${num(latency?.p99Us)} | ${num(latency?.p999Us)} | ${num(latency?.maxUs)} | ${num(row.throughput)} | ${details(row)} |`,
    );
  }
  return out.join('\n');
}

export function renderMachine(machine: MachineInfo): string {
  return [
    `- date: ${machine.date}`,
    `- CPU: ${machine.cpuModel} × ${machine.cpuCount}, ${machine.memoryGB} GB RAM, Linux ${machine.kernel}`,
    `- Node ${machine.node}; ${machine.mosquitto}; MQTT.js ${machine.mqttJs}; aedes ${machine.aedes}`,
    `- commit ${machine.gitCommit}; 1-min load average ${machine.loadAverageAtStart} at start, ${machine.loadAverageAtEnd ?? '?'} at end`,
  ].join('\n');
}
