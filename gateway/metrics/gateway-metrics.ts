/**
 * The gateway's Prometheus metrics (prom-client), one registry per gateway: what `/metrics`
 * serves (metrics-server.ts, docs/security.md §9).
 *
 * Labels are bounded: `function` is `SERVICE/FUNCTION` of a deployed function (a call to an
 * unknown one is refused before it is counted), `type` is Sync or Async, `outcome` is `ok` or an
 * error code of the catalog (src/errors.ts). Everything that is a level rather than an event
 * (queue depth, instances, Async backlog, broker connections) is read when scraped, so the hot
 * path only adds to counters and histograms.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { toEdgeFCError } from 'edgefc/errors';
import type { FunctionStats } from '../function-host.js';
import type { FunctionSpec } from '../registry/types.js';
import type { FunctionInstance, InstanceConfig, Invocation, InvocationResult, Runtime } from '../runtime/types.js';
import type { UnfinishedCall } from '../async/async-queue.js';
import type { SpanExportStats } from '../tracing/call-tracer.js';
import type { GatewayIdentity } from '../cluster/gateway-announcement.js';

/**
 * Seconds. From 0.5 ms (a warm call in the gateway's own process) to 60 s (past most function
 * timeouts); sequential Sync calls here take 0.2–2 ms (FACTS.md), cold starts 20–300 ms.
 */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What the gateway's parts tell the metrics at scrape time. */
export interface MetricSources {
  functions: () => FunctionStats[];
  /** Unfinished Async calls (enqueued, retrying, running). */
  asyncUnfinished: () => readonly UnfinishedCall[];
  /** Embedded broker only. */
  brokerConnections?: () => number;
  /** Which gateway this is: `edgefc_gateway_info`, so one Prometheus scraping several boxes tells them apart. */
  identity?: GatewayIdentity;
  /** Spans exported and dropped, when spans are exported (gateway/tracing/). */
  traceSpans?: () => SpanExportStats;
  now?: () => number;
}

export interface LatencySummary {
  count: number;
  /** Seconds, estimated from the histogram's buckets (upper bound of the bucket holding the percentile). */
  p50: number | undefined;
  p90: number | undefined;
  p99: number | undefined;
}

type HistogramChild = ReturnType<Histogram<'function'>['labels']>;
type CounterChild = ReturnType<Counter<'function'>['labels']>;

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #invocations: Counter<'function' | 'type' | 'outcome'>;
  readonly #handler: Histogram<'function'>;
  readonly #syncEndToEnd: Histogram<'function'>;
  readonly #coldStarts: Counter<'function'>;
  readonly #asyncRetries: Counter<'function'>;
  readonly #asyncDead: Counter<'function' | 'reason'>;
  readonly #asyncRepublished: Counter<'function'>;
  /** Labelled children, resolved once per label set: no label object built per call. */
  readonly #children = new Map<string, CounterChild | HistogramChild>();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    const now = sources.now ?? Date.now;
    // RSS, heap, event-loop lag, GC: prom-client's defaults, prefixed like ours.
    collectDefaultMetrics({ register: this.registry, prefix: 'edgefc_' });
    this.#invocations = new Counter({
      name: 'edgefc_invocations_total',
      help: 'Invocations run by the function host, by function, qualifier (LATEST, a version or an alias), invocation type (Sync, Async) and outcome (ok or an error code)',
      // `qualifier` (§3.2a) is bounded: one that names no version or alias is refused before it is counted.
      labelNames: ['function', 'type', 'outcome', 'qualifier'],
      registers,
    });
    this.#handler = new Histogram({
      name: 'edgefc_handler_duration_seconds',
      help: 'Time from submitting a call to its function until its result (queueing, cold start and handler)',
      labelNames: ['function'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    this.#syncEndToEnd = new Histogram({
      name: 'edgefc_sync_request_duration_seconds',
      help: 'Sync calls in the gateway, from the request arriving until the reply is handed to the broker',
      labelNames: ['function'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    this.#coldStarts = new Counter({ name: 'edgefc_cold_starts_total', help: 'Function instances started', labelNames: ['function'], registers });
    this.#asyncRetries = new Counter({ name: 'edgefc_async_retries_total', help: 'Async attempts that failed and were scheduled again', labelNames: ['function'], registers });
    this.#asyncRepublished = new Counter({
      name: 'edgefc_async_republished_total',
      help: 'NATS mode: accepted Async calls the stream no longer held, published again from their records (docs/cluster.md)',
      labelNames: ['function'],
      registers,
    });
    this.#asyncDead = new Counter({
      name: 'edgefc_async_dead_letters_total',
      help: 'Async calls that ended without success: failed (out of attempts) or expired (older than maxAsyncEventAge)',
      labelNames: ['function', 'reason'],
      registers,
    });
    const perFunction = (name: string, help: string, pick: (s: FunctionStats) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['function'],
        registers,
        collect() {
          this.reset();
          for (const s of sources.functions()) this.set({ function: `${s.service}/${s.function}` }, pick(s));
        },
      });
    };
    perFunction('edgefc_queue_depth', 'Calls waiting for a free instance', (s) => s.queued);
    perFunction('edgefc_running_calls', 'Calls holding an instance slot', (s) => s.running);
    perFunction('edgefc_instances', 'Live function instances, plus those starting', (s) => s.instances);
    perFunction('edgefc_provisioned_instances', 'Instances kept warm for the function (its minInstances)', (s) => s.provisioned);
    perFunction('edgefc_idle_instances', 'Live function instances running no call', (s) => s.idle);
    // One query per scrape for the two Async levels.
    let pending: readonly UnfinishedCall[] = [];
    new Gauge({
      name: 'edgefc_async_backlog',
      help: 'Unfinished Async calls (enqueued, retrying, running)',
      labelNames: ['function'],
      registers,
      collect() {
        this.reset();
        pending = sources.asyncUnfinished();
        const counts = new Map<string, number>();
        for (const row of pending) counts.set(`${row.service}/${row.function}`, (counts.get(`${row.service}/${row.function}`) ?? 0) + 1);
        for (const s of sources.functions()) this.set({ function: `${s.service}/${s.function}` }, counts.get(`${s.service}/${s.function}`) ?? 0);
      },
    });
    new Gauge({
      name: 'edgefc_async_oldest_waiting_seconds',
      help: 'Age of the oldest unfinished Async call (0 when none)',
      registers,
      collect() {
        let oldest = Number.POSITIVE_INFINITY;
        for (const row of pending) oldest = Math.min(oldest, row.createdAt);
        this.set(oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, (now() - oldest) / 1000));
      },
    });
    const identity = sources.identity;
    if (identity !== undefined) {
      // The info-metric idiom (value 1, facts as labels): one series per gateway process, joined
      // onto others with `* on(instance) group_left(gateway_id, host, mode, version)`.
      new Gauge({
        name: 'edgefc_gateway_info',
        help: 'Which gateway this is: its ID (stable per data directory), host, mode (single, nats) and edgefc version; always 1',
        labelNames: ['gateway_id', 'host', 'mode', 'version'],
        registers,
      }).set({ gateway_id: identity.id, host: identity.host, mode: identity.mode, version: identity.version }, 1);
      new Gauge({
        name: 'edgefc_gateway_start_time_seconds',
        help: 'When this gateway started, Unix time in seconds',
        registers,
      }).set(identity.startedAt / 1000);
    }
    const spans = sources.traceSpans;
    if (spans !== undefined) {
      // Counters read at scrape: the tracer keeps the totals.
      new Counter({
        name: 'edgefc_trace_spans_exported_total',
        help: 'Spans the OTLP collector accepted',
        registers,
        collect() {
          this.reset();
          this.inc(spans().exported);
        },
      });
      new Counter({
        name: 'edgefc_trace_spans_dropped_total',
        help: 'Spans not exported: queue_full (the collector is slow or down), export_failed (refused, failed or timed out)',
        labelNames: ['reason'],
        registers,
        collect() {
          const now = spans();
          this.reset();
          this.inc({ reason: 'queue_full' }, now.queueFull);
          this.inc({ reason: 'export_failed' }, now.failed);
        },
      });
    }
    const connections = sources.brokerConnections;
    if (connections !== undefined) {
      new Gauge({
        name: 'edgefc_broker_connections',
        help: 'Clients connected to the embedded broker',
        registers,
        collect() {
          this.set(connections());
        },
      });
    }
  }

  #child<T extends CounterChild | HistogramChild>(key: string, make: () => T): T {
    let child = this.#children.get(key) as T | undefined;
    if (child === undefined) {
      child = make();
      this.#children.set(key, child);
    }
    return child;
  }

  /** One call the host ran (or refused at once): its outcome and, when it ran, its time. */
  invocation(fn: string, type: string, outcome: string, seconds: number | undefined, qualifier = 'LATEST'): void {
    this.#child(`i\0${fn}\0${type}\0${outcome}\0${qualifier}`, () => this.#invocations.labels(fn, type, outcome, qualifier)).inc();
    if (seconds !== undefined) this.#child<HistogramChild>(`h\0${fn}`, () => this.#handler.labels(fn)).observe(seconds);
  }

  syncReplied(fn: string, seconds: number): void {
    this.#child<HistogramChild>(`s\0${fn}`, () => this.#syncEndToEnd.labels(fn)).observe(seconds);
  }

  asyncRetry(fn: string): void {
    this.#child(`r\0${fn}`, () => this.#asyncRetries.labels(fn)).inc();
  }

  asyncRepublished(fn: string): void {
    this.#child(`p\0${fn}`, () => this.#asyncRepublished.labels(fn)).inc();
  }

  asyncDeadLetter(fn: string, reason: 'failed' | 'expired'): void {
    this.#child(`d\0${fn}\0${reason}`, () => this.#asyncDead.labels(fn, reason)).inc();
  }

  /**
   * Time one submitted call: the promise is returned as it is (its outcome observed on the
   * side), and a synchronous refusal (queue full, shutting down) is counted and re-thrown.
   */
  timeSubmit(fn: FunctionSpec, invocation: Invocation, submit: () => Promise<InvocationResult>): Promise<InvocationResult> {
    const label = `${fn.serviceName}/${fn.name}`;
    const type = invocation.invocationType;
    const qualifier = invocation.qualifier === '' ? 'LATEST' : invocation.qualifier;
    let result: Promise<InvocationResult>;
    try {
      result = submit();
    } catch (error) {
      this.invocation(label, type, toEdgeFCError(error).code, undefined, qualifier);
      throw error;
    }
    const started = performance.now();
    result.then(
      () => this.invocation(label, type, 'ok', (performance.now() - started) / 1000, qualifier),
      (error: unknown) => this.invocation(label, type, toEdgeFCError(error).code, (performance.now() - started) / 1000, qualifier),
    );
    return result;
  }

  /** The runtime, with every instance start counted as a cold start of its function. */
  countColdStarts(runtime: Runtime): Runtime {
    return {
      name: runtime.name,
      startInstance: (config: InstanceConfig): Promise<FunctionInstance> => {
        const label = `${config.fn.serviceName}/${config.fn.name}`;
        this.#child(`c\0${label}`, () => this.#coldStarts.labels(label)).inc();
        return runtime.startInstance(config);
      },
      ...(runtime.prepare === undefined ? {} : { prepare: runtime.prepare.bind(runtime) }),
      close: () => runtime.close(),
    };
  }

  /** Handler-time percentiles of one function since start, from its histogram (for `describe`). */
  async latency(fn: string): Promise<LatencySummary> {
    const metric = await this.#handler.get();
    const buckets = metric.values.filter((v) => v.labels['function'] === fn && v.metricName === 'edgefc_handler_duration_seconds_bucket');
    const count = metric.values.find((v) => v.labels['function'] === fn && v.metricName === 'edgefc_handler_duration_seconds_count')?.value ?? 0;
    const at = (q: number): number | undefined => {
      if (count === 0) return undefined;
      const bucket = buckets.find((b) => b.value >= q * count);
      const le = (bucket?.labels as Record<string, string | number> | undefined)?.['le'];
      return le === undefined || le === '+Inf' || le === Number.POSITIVE_INFINITY ? undefined : Number(le);
    };
    return { count, p50: at(0.5), p90: at(0.9), p99: at(0.99) };
  }
}
