/**
 * Runs the registry's functions: one pool per function, created on first call (a deployed but
 * never-called function costs no process), or at start and at every deploy for a function with
 * provisioned instances (minInstances: docs/lifecycle.md); all closed together on shutdown.
 */
import { ServiceUnavailableError } from 'edgefc/errors';
import type { Logger } from './logging/logger.js';
import { formatFunctionLogLine } from './logging/function-log.js';
import { FunctionLogs } from './logging/function-logs.js';
import type { Registry } from './registry/registry.js';
import type { FunctionSpec, ServiceSpec } from './registry/types.js';
import { FunctionPool, type FunctionPoolStats } from './runtime/function-pool.js';
import { MemoryBudget, memoryReport } from './runtime/memory-budget.js';
import type { Invocation, InvocationResult, Runtime } from './runtime/types.js';
import type { GatewayMetrics } from './metrics/gateway-metrics.js';
import type { CallTracer, FaasTrigger } from './tracing/call-tracer.js';

/** A record's log tail: the last 20 lines, each cut at 500 characters, so a record stays small. */
const LOG_TAIL_LINES = 20;
const LOG_TAIL_LINE_CHARS = 500;

export type FunctionStats = { service: string; function: string } & FunctionPoolStats;

/** What a function that never ran reports. */
const IDLE_STATS: FunctionPoolStats = { queued: 0, running: 0, instances: 0, provisioned: 0, idle: 0, completed: 0, failed: 0, throttled: 0 };

export interface FunctionHostOptions {
  registry: Registry;
  runtime: Runtime;
  /** Broker URL functions use to reach this gateway (`new FCClient()` inside a function). */
  brokerUrl: string;
  logger: Logger;
  /**
   * Where functions' output goes: per-function files, the tail of a call (docs/logs.md).
   * @default lines echoed to `logger.functionLine`, no files
   */
  logs?: FunctionLogs;
  /** Counts and times every call submitted (gateway/metrics/gateway-metrics.ts). */
  metrics?: GatewayMetrics;
  /** A span around every call submitted (gateway/tracing/); absent without an OTLP endpoint. */
  tracer?: CallTracer;
  /**
   * What every function instance counts against (runtime/memory-budget.ts).
   * @default 75 % of the box's memory
   */
  budget?: MemoryBudget;
}

export class FunctionHost {
  readonly #options: FunctionHostOptions;
  readonly #pools = new Map<string, FunctionPool>();
  /** Pools of an earlier deploy, finishing the calls they accepted (redeploy()). */
  readonly #retiring = new Set<Promise<void>>();
  readonly #logs: FunctionLogs;
  readonly #budget: MemoryBudget;
  /** Log lines collected per request ID for the Async records' log tail (docs/protocol.md §10.3). */
  readonly #logTaps = new Map<string, string[]>();
  #closing = false;

  constructor(options: FunctionHostOptions) {
    this.#options = options;
    this.#budget = options.budget ?? new MemoryBudget();
    this.#logs = options.logs ?? new FunctionLogs({ echo: (line) => options.logger.functionLine(line) });
    // Spare processes for the deployed functions' first calls (pools themselves start on first call).
    options.runtime.prepare?.(options.registry.functions());
    this.#provision();
  }

  /** Functions' output: files, and the tail a call can ask for (docs/logs.md). */
  get logs(): FunctionLogs {
    return this.#logs;
  }

  /**
   * After the registry changed (Registry.replace): new calls go to new pools, built from the
   * new specs and starting new instances (the code on disk may have changed too, whatever the
   * template says); every current pool is retired: it takes no new call, runs those it
   * accepted to their end, then stops its instances (pre-stop included). Resolves at once with
   * how many pools were retired; `drained` settles when they are all gone.
   */
  redeploy(): { retired: number; drained: Promise<void> } {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    this.#options.runtime.prepare?.(this.#options.registry.functions());
    this.#provision();
    const drained = Promise.all(pools.map((pool) => pool.retire())).then(() => undefined);
    this.#retiring.add(drained);
    void drained.finally(() => this.#retiring.delete(drained));
    return { retired: pools.length, drained };
  }

  /**
   * Start one call of an already looked-up function. A call the host refuses at once
   * (shutting down, queue full) throws here, synchronously, so the caller knows it was never
   * accepted; the promise carries the run's outcome and rejects only with EdgeFCError.
   * `trigger`: what made the call, for its span (`faas.trigger`).
   */
  submit(service: ServiceSpec, fn: FunctionSpec, invocation: Invocation, trigger: FaasTrigger = 'other'): Promise<InvocationResult> {
    if (this.#closing) throw new ServiceUnavailableError('the gateway is shutting down');
    const { tracer } = this.#options;
    if (tracer === undefined) return this.#submit(service, fn, invocation);
    return tracer.traceSubmit(fn, invocation, trigger, () => this.#submit(service, fn, invocation));
  }

  #submit(service: ServiceSpec, fn: FunctionSpec, invocation: Invocation): Promise<InvocationResult> {
    const { metrics } = this.#options;
    if (metrics === undefined) return this.#pool(service, fn).submit(invocation);
    return metrics.timeSubmit(fn, invocation, () => this.#pool(service, fn).submit(invocation));
  }

  /** Start keeping the last lines the call `requestId` logs. */
  tapLogs(requestId: string): void {
    this.#logTaps.set(requestId, []);
  }

  /** Stop keeping them; returns what was kept (at most LOG_TAIL_LINES, oldest first). */
  untapLogs(requestId: string): string[] {
    const lines = this.#logTaps.get(requestId) ?? [];
    this.#logTaps.delete(requestId);
    return lines;
  }

  stats(): FunctionStats[] {
    const rows: FunctionStats[] = [];
    for (const fn of this.#options.registry.functions()) {
      const pool = this.#pools.get(key(fn.serviceName, fn.name));
      rows.push({ service: fn.serviceName, function: fn.name, ...(pool?.stats() ?? IDLE_STATS) });
    }
    return rows;
  }

  /** The memory budget, what the pools claim of it, and what the OS says is free (MB). */
  memory(): { budgetMB: number; usedMB: number; freeMB: number } {
    return memoryReport(this.#budget);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    this.#pools.clear();
    await Promise.all([...this.#retiring]);
    await this.#options.runtime.close();
  }

  /**
   * Pools for the functions with provisioned instances, which start them in the background: a
   * slow or failing start holds neither the deploy nor other functions (the pool logs and
   * retries it).
   */
  #provision(): void {
    for (const fn of this.#options.registry.functions()) {
      if ((fn.minInstances ?? 0) === 0) continue;
      const entry = this.#options.registry.find(fn.serviceName, fn.name);
      if (entry !== undefined) this.#pool(entry.service, entry.fn).provision();
    }
  }

  #pool(service: ServiceSpec, fn: FunctionSpec): FunctionPool {
    // A published version is a pool of its own: its code and configuration are not LATEST's (§3.2a).
    const poolKey = service.versionId === '' ? key(service.name, fn.name) : `${key(service.name, fn.name)}@${service.versionId}`;
    let pool = this.#pools.get(poolKey);
    if (pool === undefined) {
      const { registry, brokerUrl, runtime } = this.#options;
      // The current deploy's spec, not the caller's: a caller holding a spec from before a
      // redeploy (an Async retry) must not build the new pool from the old one. A version's
      // spec is frozen: it is the caller's.
      const current = service.versionId === '' ? registry.find(service.name, fn.name) : undefined;
      pool = new FunctionPool(runtime, {
        service: current?.service ?? service,
        fn: current?.fn ?? fn,
        identity: registry.identity,
        brokerUrl,
        onLog: (line) => {
          this.#logs.line(line);
          const tap = line.requestId === '' ? undefined : this.#logTaps.get(line.requestId);
          if (tap !== undefined) {
            // Formatted only for a tapped call: a flood of lines past every budget costs no strings.
            const text = formatFunctionLogLine(line);
            tap.push(text.length > LOG_TAIL_LINE_CHARS ? `${text.slice(0, LOG_TAIL_LINE_CHARS)}…` : text);
            if (tap.length > LOG_TAIL_LINES) tap.shift();
          }
        },
        maxLogBytesPerCall: this.#logs.maxInvocationBytes,
        onLogDropped: (requestId, bytes, lines) => this.#logs.dropped(fn.serviceName, fn.name, requestId, bytes, lines),
        onFrame: (frame) => this.#logs.frame(frame),
      }, {
        budget: this.#budget,
        onProvisionError: (error, retryInMs) =>
          this.#options.logger.warn('a provisioned instance did not start; trying again', {
            function: poolKey,
            code: error.code,
            error: error.message,
            retryInMs,
          }),
      });
      this.#pools.set(poolKey, pool);
    }
    return pool;
  }
}

function key(serviceName: string, functionName: string): string {
  return `${serviceName}/${functionName}`;
}
