/**
 * A gateway's load, sampled once per heartbeat interval: what `edgefc cluster status` shows for
 * each gateway (docs/protocol.md §9.16). Read from counters the gateway keeps anyway
 * (FunctionHost.stats, the process's RSS) and one event-loop delay histogram, so the call path
 * is not touched.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { FunctionStats } from '../function-host.js';

export interface GatewayLoad {
  /** Calls running or waiting for an instance now, Sync and Async. */
  callsInFlight: number;
  /** Calls finished (ok or failed) per second over the last interval. */
  callsPerSecond: number;
  /** Function instances alive or starting now. */
  instances: number;
  /** The gateway process's resident set, bytes (its function processes not included). */
  rssBytes: number;
  /** The event loop's 99th-percentile delay over the last interval, ms: past ~10 ms calls queue behind the gateway itself. */
  eventLoopDelayMs: number;
}

const DELAY_RESOLUTION_MS = 20;

export interface GatewayLoadOptions {
  functions: () => FunctionStats[];
  now?: () => number;
}

export class GatewayLoadSampler {
  readonly #functions: () => FunctionStats[];
  readonly #now: () => number;
  readonly #delay: IntervalHistogram;
  #lastAt: number;
  #lastFinished: number;
  #last: GatewayLoad;

  constructor(options: GatewayLoadOptions) {
    this.#functions = options.functions;
    this.#now = options.now ?? Date.now;
    // A timer every 20 ms is nothing next to a call (0.3-1 ms each).
    this.#delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
    this.#delay.enable();
    this.#lastAt = this.#now();
    this.#lastFinished = finished(this.#functions());
    this.#last = { callsInFlight: 0, callsPerSecond: 0, instances: 0, rssBytes: process.memoryUsage.rss(), eventLoopDelayMs: 0 };
  }

  /** Close the interval: the load over it, which `last` then returns too. */
  sample(): GatewayLoad {
    const stats = this.#functions();
    const now = this.#now();
    const total = finished(stats);
    const seconds = Math.max(0.001, (now - this.#lastAt) / 1000);
    // A redeploy replaces pools and their counters start again: never a negative rate.
    const callsPerSecond = Math.max(0, total - this.#lastFinished) / seconds;
    this.#lastAt = now;
    this.#lastFinished = total;
    // The histogram holds whole timer periods (an idle loop reads 20.1 ms, measured on Node 20): the delay is what exceeds the period.
    const delayNs = this.#delay.count === 0 ? 0 : Math.max(0, this.#delay.percentile(99) - DELAY_RESOLUTION_MS * 1e6);
    this.#delay.reset();
    this.#last = {
      callsInFlight: stats.reduce((sum, s) => sum + s.running + s.queued, 0),
      callsPerSecond: Math.round(callsPerSecond * 10) / 10,
      instances: stats.reduce((sum, s) => sum + s.instances, 0),
      rssBytes: process.memoryUsage.rss(),
      eventLoopDelayMs: Math.round(delayNs / 1e4) / 100,
    };
    return this.#last;
  }

  /** The last interval's load (not a new sample). */
  get last(): GatewayLoad {
    return this.#last;
  }

  close(): void {
    this.#delay.disable();
  }
}

function finished(stats: readonly FunctionStats[]): number {
  return stats.reduce((sum, s) => sum + s.completed + s.failed, 0);
}
