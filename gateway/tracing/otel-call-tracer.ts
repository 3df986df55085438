/**
 * The gateway's spans through the OpenTelemetry SDK, exported as OTLP/HTTP (JSON) by a batch
 * span processor (docs/operations.md §4). Only `load-call-tracer.ts` imports this file, and only
 * when an endpoint is configured: a gateway without one loads none of the OpenTelemetry SDK.
 *
 * The provider is private to the gateway (not registered as the global one): spans are parented
 * explicitly on the request's W3C context, so no context manager is needed, and a function
 * running in the gateway's process (`isolation: none`) with its own OpenTelemetry setup is not
 * disturbed.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, createTraceState, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { toEdgeFCError, type EdgeFCError } from 'edgefc/errors';
import { parseTraceparent, type TraceContext } from 'edgefc/protocol';
import type { Logger } from '../logging/logger.js';
import type { FunctionSpec } from '../registry/types.js';
import type { Invocation, InvocationResult } from '../runtime/types.js';
import type { CallSpan, CallTracer, FaasTrigger, SpanExportStats } from './call-tracer.js';
import { BoundedSpanProcessor, CountingExporter, type ExportCounter } from './counted-export.js';
import { redact, type TraceExportConfig } from './trace-export-config.js';

/**
 * FaaS attributes of the OpenTelemetry semantic conventions (https://opentelemetry.io/docs/specs/semconv/faas/faas-spans/).
 * They are still "development" there, so copied here rather than imported from the package's
 * unstable `incubating` entry point, as its README advises.
 */
const ATTR_FAAS_INVOKED_NAME = 'faas.invoked_name';
const ATTR_FAAS_TRIGGER = 'faas.trigger';
const ATTR_FAAS_INVOCATION_ID = 'faas.invocation_id';
const ATTR_FAAS_COLDSTART = 'faas.coldstart';
/** edgefc's own: the invocation type (Sync, Async) and, for an Async attempt, FC's `context.retryCount`. */
const ATTR_INVOCATION_TYPE = 'edgefc.invocation_type';
const ATTR_RETRY_COUNT = 'edgefc.retry_count';

export interface OtelTracerOptions {
  config: TraceExportConfig;
  logger: Logger;
  /** The gateway's version, as `service.version`. */
  version: string;
}

export class OtelCallTracer implements CallTracer {
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;
  readonly #counter: ExportCounter = { stats: { exported: 0, queueFull: 0, failed: 0 }, waiting: 0 };
  readonly #logger: Logger;
  readonly #where: string;
  readonly #shutdownTimeoutMs: number;

  constructor(options: OtelTracerOptions) {
    const { config, logger } = options;
    this.#logger = logger;
    this.#where = redact(config.url);
    this.#shutdownTimeoutMs = config.shutdownTimeoutMs ?? 5000;
    const timeoutMs = config.exportTimeoutMs ?? 10_000;
    const maxQueueSize = config.maxQueueSize ?? 2048;
    const exporter = new CountingExporter(new OTLPTraceExporter({ url: config.url, headers: config.headers, timeoutMillis: timeoutMs }), this.#counter, (error) =>
      logger.warn('span export failed: those spans are dropped (edgefc_trace_spans_dropped_total)', { endpoint: this.#where, error: error?.message ?? 'refused' }),
    );
    const resource = defaultResource()
      .merge(detectResources({ detectors: [envDetector] }))
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_VERSION]: options.version }));
    this.#provider = new BasicTracerProvider({
      resource,
      spanProcessors: [
        new BoundedSpanProcessor(
          new BatchSpanProcessor(exporter, { maxQueueSize, scheduledDelayMillis: config.scheduledDelayMs ?? 5000, exportTimeoutMillis: timeoutMs }),
          this.#counter,
          maxQueueSize,
          () => logger.warn('span queue full: new spans are dropped until the collector catches up (edgefc_trace_spans_dropped_total)', { endpoint: this.#where }),
        ),
      ],
    });
    this.#tracer = this.#provider.getTracer('edgefc', options.version);
  }

  traceSubmit(fn: FunctionSpec, invocation: Invocation, trigger: FaasTrigger, submit: () => Promise<InvocationResult>): Promise<InvocationResult> {
    const sync = invocation.invocationType === 'Sync';
    const attributes: Attributes = {
      [ATTR_FAAS_INVOKED_NAME]: `${fn.serviceName}/${fn.name}`,
      [ATTR_FAAS_TRIGGER]: trigger,
      [ATTR_FAAS_INVOCATION_ID]: invocation.requestId,
      [ATTR_INVOCATION_TYPE]: invocation.invocationType,
    };
    if (!sync) attributes[ATTR_RETRY_COUNT] = invocation.retryCount ?? 0;
    const caller = invocation.trace;
    const span = this.#tracer.startSpan(`${fn.serviceName}/${fn.name}`, { kind: sync ? SpanKind.SERVER : SpanKind.CONSUMER, attributes }, parentContext(caller));
    // The function runs inside this span: what it sees, and what its own calls continue (§3.7.5).
    invocation.trace = childContext(span, caller);
    let result: Promise<InvocationResult>;
    try {
      result = submit();
    } catch (error) {
      // An Async attempt refused at once is tried again shortly: a span never ended is never exported.
      if (sync) endSpan(span, invocation, toEdgeFCError(error));
      throw error;
    }
    result.then(
      () => endSpan(span, invocation, undefined),
      (error: unknown) => endSpan(span, invocation, toEdgeFCError(error)),
    );
    return result;
  }

  startIntake(fn: FunctionSpec, requestId: string, parent: TraceContext | undefined): CallSpan {
    const span = this.#tracer.startSpan(
      `accept ${fn.serviceName}/${fn.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_FAAS_INVOKED_NAME]: `${fn.serviceName}/${fn.name}`,
          [ATTR_FAAS_TRIGGER]: 'other',
          [ATTR_FAAS_INVOCATION_ID]: requestId,
          [ATTR_INVOCATION_TYPE]: 'Async',
        },
      },
      parentContext(parent),
    );
    return {
      trace: childContext(span, parent),
      end: (error) => endSpan(span, undefined, error),
    };
  }

  stats(): SpanExportStats {
    return { ...this.#counter.stats };
  }

  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#shutdownTimeoutMs);
    });
    try {
      const outcome = await Promise.race([this.#provider.shutdown().then(() => 'done' as const), timedOut]);
      if (outcome === 'timeout') {
        // A collector that is down at shutdown: what still waits is lost, the stop goes on.
        this.#counter.stats.failed += this.#counter.waiting;
        this.#logger.warn('the last spans were not exported before the stop', { endpoint: this.#where, waiting: this.#counter.waiting, timeoutMs: this.#shutdownTimeoutMs });
      }
    } catch (error) {
      this.#logger.warn('could not export the last spans', { endpoint: this.#where, error: error instanceof Error ? error.message : String(error) });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The request's context as the SDK's remote parent; the root context (a new trace) without one. */
function parentContext(caller: TraceContext | undefined): Context {
  const parsed = parseTraceparent(caller?.traceparent);
  if (parsed === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parsed.traceId,
    spanId: parsed.parentId,
    traceFlags: Number.parseInt(parsed.flags, 16),
    isRemote: true,
    ...(caller?.tracestate === undefined ? {} : { traceState: createTraceState(caller.tracestate) }),
  });
}

/** The span as the parent of what runs inside it; the caller's tracestate passed on unchanged (§3.7.1). */
function childContext(span: Span, caller: TraceContext | undefined): TraceContext {
  const { traceId, spanId, traceFlags } = span.spanContext();
  const traceparent = `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
  return caller?.tracestate === undefined ? { traceparent } : { traceparent, tracestate: caller.tracestate };
}

function endSpan(span: Span, invocation: Invocation | undefined, error: EdgeFCError | undefined): void {
  if (invocation !== undefined) span.setAttribute(ATTR_FAAS_COLDSTART, invocation.coldStart === true);
  if (error !== undefined) {
    span.setAttribute(ATTR_ERROR_TYPE, error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end();
}
