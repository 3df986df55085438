/**
 * Scenario 3: async intake, measured by bench/async-intake.ts (owned by the durable-async work),
 * run as its own process: it is a standalone script with its own arguments. Its table lines
 * (`<store-sync> <raw QoS 1 msg/s> <Async accepted/s> <ratio>`) become rows here.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchRow } from '../lib/context.js';
import { ratioOf } from './latency.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'async-intake.js');

export async function runAsyncIntake(context: BenchContext): Promise<BenchRow[]> {
  const scenario = '3. Async intake (durable store) vs raw QoS 1 publish';
  if (!existsSync(SCRIPT)) {
    context.progress(`${scenario}: bench/async-intake.ts not there yet, skipped`);
    return [];
  }
  const args = ['--calls', context.quick ? '2000' : '20000', '--rounds', context.quick ? '1' : '3'];
  context.progress(`${scenario}: node ${SCRIPT} ${args.join(' ')}`);
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [SCRIPT, ...args], { timeout: context.quick ? 30_000 : 300_000, maxBuffer: 1 << 20 }, (error, out, err) => {
      if (error !== null) reject(new Error(`async-intake failed: ${error.message}\n${err}`));
      else resolve(out);
    });
  });
  const rows: BenchRow[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^(\w+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s*$/.exec(line);
    if (match === null) continue;
    const [, mode, raw, intake] = match as unknown as [string, string, string, string];
    const baseline = `raw QoS 1 publish loop (same broker, store-sync ${mode} run)`;
    rows.push({ scenario, label: baseline, throughput: Number(raw) });
    rows.push({
      scenario,
      label: `Async intake, store-sync ${mode}`,
      baseline,
      throughput: Number(intake),
      ratio: { throughput: ratioOf(Number(intake), Number(raw)) },
      // The quick run's 2,000 calls fit in the gateway's buffers and show only the ramp-up: no verdict.
      ...(mode === 'off' || context.quick ? {} : { goal: { text: 'durable ≥ 0.5×', met: Number(intake) / Number(raw) >= 0.5 } }),
      ...(context.quick ? { notes: 'quick run: 2,000 calls, ramp-up only; no verdict' } : {}),
    });
  }
  if (rows.length === 0) rows.push({ scenario, label: 'async-intake printed no result rows', notes: stdout.slice(-300) });
  return rows;
}
