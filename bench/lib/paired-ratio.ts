/**
 * The p50 ratio of two targets, measured so that a rule can be held to it in a quick run: pairs
 * of short sequential runs back to back (which one goes first alternates), and the median of the
 * pairs' ratios. Taken from one run of each, seconds apart with other targets in between, the
 * quick bench's default-path ratio moved between 2.1× and 3.2× on unchanged code (the box's speed
 * wanders by ±30 % within minutes), so a 3× line was broken by noise alone.
 */
import { mergeLatency } from './context.js';
import { measure, type Target } from './measure.js';
import { median } from './median.js';

export interface PairedRatio {
  /** Median of `target` p50 / `baseline` p50 over the pairs, 2 decimals (NaN with no pair). */
  median: number;
  ratios: number[];
}

export async function pairedP50Ratio(
  baseline: Target,
  target: Target,
  options: { pairs: number; warmupMs: number; measureMs: number; payloadBytes: number },
): Promise<PairedRatio> {
  const p50Of = async (which: Target): Promise<number> => {
    const run = await measure(which, {
      mode: 'closed',
      inFlight: 1,
      rate: 0,
      warmupMs: options.warmupMs,
      durationMs: options.measureMs,
      payloadBytes: options.payloadBytes,
      timeoutMs: 30_000,
    });
    return mergeLatency([run.result]).summary().p50Us;
  };
  const ratios: number[] = [];
  for (let pair = 0; pair < options.pairs; pair++) {
    let baselineUs: number;
    let targetUs: number;
    if (pair % 2 === 0) {
      baselineUs = await p50Of(baseline);
      targetUs = await p50Of(target);
    } else {
      targetUs = await p50Of(target);
      baselineUs = await p50Of(baseline);
    }
    if (baselineUs > 0) ratios.push(targetUs / baselineUs);
  }
  const round2 = (value: number): number => Math.round(value * 100) / 100;
  return { median: round2(median(ratios)), ratios: ratios.map(round2) };
}

