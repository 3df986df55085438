/**
 * The gateway's spans (docs/operations.md §4), as the call path sees them: no OpenTelemetry
 * type here, so the dispatchers, the function host and the Async service import only this, and
 * a gateway without an OTLP endpoint loads none of the OpenTelemetry SDK (load-call-tracer.ts;
 * prom-client loads `@opentelemetry/api` for itself).
 * Without an endpoint there is no tracer at all (`undefined`), not a no-op one: the call path
 * tests one field and allocates nothing.
 */
import type { EdgeFCError } from 'edgefc/errors';
import type { TraceContext } from 'edgefc/protocol';
import type { FunctionSpec } from '../registry/types.js';
import type { Invocation, InvocationResult } from '../runtime/types.js';

/**
 * OpenTelemetry's `faas.trigger` (semantic conventions, FaaS spans): `pubsub` for an Async call
 * made by a topic trigger (docs/protocol.md §11), `other` for an invocation request (§3, §8).
 */
export type FaasTrigger = 'pubsub' | 'other';

/** One span in progress. */
export interface CallSpan {
  /** The context the work inside this span continues: the span's own ID as parent. */
  readonly trace: TraceContext;
  /** Ends the span: ok, or with the error's code as `error.type` and status ERROR. */
  end(error?: EdgeFCError): void;
}

/** What happened to finished spans, for `edgefc_trace_spans_*` (gateway-metrics.ts). */
export interface SpanExportStats {
  exported: number;
  /** Dropped because the queue was full (a slow or unreachable collector). */
  queueFull: number;
  /** In exports the collector refused, or that failed or timed out. */
  failed: number;
}

export interface CallTracer {
  /**
   * Run `submit` (one run of a function: a Sync call, an Async attempt) inside a span: SERVER
   * for Sync, CONSUMER for Async, parented on `invocation.trace` (a new trace without one).
   * The function then sees the span as its parent (`invocation.trace` is replaced), so a call it
   * makes is the span's child. A synchronous refusal is re-thrown; its span ends with the error
   * for a Sync call, and is dropped for an Async attempt (the Async service tries it again).
   */
  traceSubmit(fn: FunctionSpec, invocation: Invocation, trigger: FaasTrigger, submit: () => Promise<InvocationResult>): Promise<InvocationResult>;
  /** The span of an Async request's intake (§10.1): the attempts are its children. */
  startIntake(fn: FunctionSpec, requestId: string, parent: TraceContext | undefined): CallSpan;
  stats(): SpanExportStats;
  /** Export what is queued (bounded by the export timeout) and stop. */
  shutdown(): Promise<void>;
}
