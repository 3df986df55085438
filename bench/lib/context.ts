/**
 * What every scenario gets: the run's settings, the shared Mosquitto, and helpers that start
 * worker processes and clean them up at the end of the run. A scenario module (latency.ts,
 * cold-start.ts, footprint.ts, and async-intake.ts when it exists) returns `BenchRow`s.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Login } from './bench-logins.js';
import type { ConnectArgs, RunArgs, RunResult } from '../workers/client.js';
import type { GatewayStartArgs, GatewayStarted, GatewayUsage } from '../workers/gateway.js';
import { Histogram, type LatencySummary } from './histogram.js';
import { WorkerProcess } from './ipc.js';
import type { BenchMosquitto } from './mosquitto.js';

const WORKERS = join(dirname(fileURLToPath(import.meta.url)), '..', 'workers');

export interface BenchRow {
  /** e.g. "1. Sync, 1 in flight". */
  scenario: string;
  /** e.g. "gateway (FCClient), Mosquitto". */
  label: string;
  /** The label of the row in the same scenario this one is compared with. */
  baseline?: string;
  latency?: LatencySummary;
  /** Completed calls per second. */
  throughput?: number;
  errors?: number;
  /** Anything else worth printing, already in display units (named in the key). */
  extra?: Record<string, number | string>;
  /** Filled in by the report: this row ÷ baseline. */
  ratio?: { p50?: number; p99?: number; p999?: number; throughput?: number };
  /** The product target this row is held to, e.g. "p50 ≤ 1.2× raw", and whether it holds. */
  goal?: { text: string; met: boolean | undefined };
  notes?: string;
}

export interface Durations {
  warmupMs: number;
  measureMs: number;
  /** Interleaved repetitions of each comparison (A B A B …), merged: noise hits both sides. */
  rounds: number;
}

export interface BenchContext {
  quick: boolean;
  durations: Durations;
  mosquitto: BenchMosquitto;
  resultsDir: string;
  progress(message: string): void;
  startGateway(name: string, args: GatewayStartArgs, options?: WorkerOptions): Promise<BenchGateway>;
  /**
   * The raw echo (the floor); `direct`: instead a stand-in for a function instance that takes its
   * calls from the broker itself (bench/direct-ab.ts, issue 14's moonshot).
   */
  startResponder(url: string, mqtt5: boolean, login?: Login, options?: { direct?: boolean; ca?: string }): Promise<BenchResponder>;
  startClient(name: string, args: ConnectArgs, options?: WorkerOptions): Promise<BenchClient>;
}

export interface WorkerOptions {
  execArgv?: string[];
  /**
   * Another build's `dist/bench/workers` (sync-ab.ts: build A from a second checkout), so the
   * worker and the gateway or client it loads are that build's; default: this build's.
   */
  workersDir?: string;
}

export interface BenchGateway {
  url: string;
  pid: number;
  startMs: number;
  usage(): Promise<GatewayUsage>;
  settle(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export interface BenchResponder {
  pid: number;
  usage(): Promise<{ cpuUs: number; rssBytes: number; answered: number }>;
  stop(): Promise<void>;
}

export interface BenchClient {
  pid: number;
  run(args: RunArgs): Promise<RunResult>;
  /** One timed call (ms); `fn` calls another function of the same service (FCClient only). */
  once(timeoutMs: number, fn?: string): Promise<number>;
  cpuUs(): Promise<number>;
  stop(): Promise<void>;
}

export function createContext(options: { quick: boolean; durations: Durations; mosquitto: BenchMosquitto; resultsDir: string }): BenchContext & { closeAll(): Promise<void> } {
  const workers = new Set<WorkerProcess>();
  const track = async (name: string, script: string, execArgv?: string[], workersDir = WORKERS): Promise<WorkerProcess> => {
    const worker = await WorkerProcess.start(name, join(workersDir, script), execArgv === undefined ? {} : { execArgv });
    workers.add(worker);
    return worker;
  };
  const release = async (worker: WorkerProcess, before?: () => Promise<unknown>): Promise<void> => {
    if (!workers.delete(worker)) return;
    try {
      await before?.();
    } finally {
      await worker.stop();
    }
  };
  return {
    ...options,
    progress: (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`),
    async startGateway(name, args, startOptions = {}) {
      const worker = await track(name, 'gateway.js', startOptions.execArgv ?? ['--expose-gc'], startOptions.workersDir);
      const started = await worker.call<GatewayStarted>('start', args);
      return {
        url: started.url,
        pid: started.pid,
        startMs: started.startMs,
        usage: () => worker.call<GatewayUsage>('usage'),
        settle: (ms) => worker.call<undefined>('settle', { ms }),
        stop: () => release(worker, () => worker.call('stop')),
      };
    },
    async startResponder(url, mqtt5, login, options = {}) {
      const worker = await track('responder', 'responder.js');
      const { pid } = await worker.call<{ pid: number }>('start', {
        url,
        mqtt5,
        direct: options.direct === true,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(login === undefined ? {} : { login }),
      });
      return {
        pid,
        usage: () => worker.call('usage'),
        stop: () => release(worker, () => worker.call('stop')),
      };
    },
    async startClient(name, args, startOptions = {}) {
      const worker = await track(name, 'client.js', startOptions.execArgv, startOptions.workersDir);
      await worker.call('connect', args);
      return {
        pid: worker.pid,
        run: (runArgs) => worker.call<RunResult>('run', runArgs),
        once: async (timeoutMs, fn) => (await worker.call<{ ms: number }>('once', { payloadBytes: 64, timeoutMs, ...(fn === undefined ? {} : { fn }) })).ms,
        cpuUs: async () => (await worker.call<{ cpuUs: number }>('usage')).cpuUs,
        stop: () => release(worker, () => worker.call('close')),
      };
    },
    async closeAll() {
      await Promise.allSettled([...workers].map((worker) => worker.stop()));
      workers.clear();
    },
  };
}

/** Merge the latency histograms of several runs (rounds, or client processes). */
export function mergeLatency(results: readonly RunResult[]): Histogram {
  const merged = new Histogram();
  for (const result of results) merged.add(Histogram.fromJSON(result.latency));
  return merged;
}

export async function ensureDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}
