/**
 * The `context` argument, in FC's shape (seed 000) plus LinkEdge's `invokerContext` and our
 * `signal`. Units follow FC: memory in MB, timeouts in seconds.
 */
import type { FunctionSpec, GatewayIdentity, ServiceSpec } from '../../../registry/types.js';
import type { LazyAbort } from './lazy-abort.js';
import { parseTraceparent, type TraceContext } from 'edgefc/protocol';
import { PASSWORD_ENV, USERNAME_ENV } from 'edgefc/client';

export interface FunctionContext {
  requestId: string;
  credentials: { accessKeyId: string; accessKeySecret: string; securityToken: string };
  function: {
    name: string;
    handler: string;
    memory: number;
    timeout: number;
    /** '' when the function has no initializer. */
    initializer: string;
    initializationTimeout: number;
  };
  service: { name: string; logProject: string; logStore: string; qualifier: string; versionId: string };
  region: string;
  accountId: string;
  /** What the caller sent as invokerContext, decoded; `{}` when it sent none. */
  invokerContext: Record<string, unknown>;
  /** Aborted, with a FunctionTimeoutError as reason, when the gateway gives up on the call. */
  signal: AbortSignal;
  /** FC's name: earlier attempts of this Async call (0 on its first run, and for Sync calls). */
  retryCount: number;
  /**
   * FC's `context.tracing` (its Node.js tracing docs), carrying the call's W3C trace context
   * (docs/protocol.md §3.7): `traceparent` and `tracestate` ('' when absent). FC's own members
   * are Jaeger's: `openTracingSpanContext` is the same IDs as `traceid:spanid:0:flags`;
   * `jaegerEndpoint` is '' (edgefc has no collector of its own) and there are no baggages.
   */
  tracing: {
    traceparent: string;
    tracestate: string;
    openTracingSpanContext: string;
    openTracingSpanBaggages: Record<string, string>;
    jaegerEndpoint: string;
  };
}

export interface ContextSource {
  spec: FunctionSpec;
  service: ServiceSpec;
  identity: GatewayIdentity;
}

/**
 * FC's `context.credentials`: the template's, when it sets them (for the function's own cloud
 * calls); otherwise the instance's broker login (docs/security.md §4), which the gateway put in
 * the process environment.
 */
function credentialsOf(identity: GatewayIdentity): FunctionContext['credentials'] {
  const { credentials } = identity;
  const username = process.env[USERNAME_ENV];
  if (credentials.accessKeyId !== '' || username === undefined) return { ...credentials };
  return { accessKeyId: username, accessKeySecret: process.env[PASSWORD_ENV] ?? '', securityToken: '' };
}

/** A fresh object per call, so one call mutating its context cannot leak into the next. */
export function buildContext(
  source: ContextSource,
  call: {
    requestId: string;
    qualifier: string;
    invokerContext: Record<string, unknown> | undefined;
    /** Whose signal becomes `context.signal`, made when the handler first reads it. */
    abort: LazyAbort;
    /** @default 0 */
    retryCount?: number;
    trace?: TraceContext | undefined;
  },
): FunctionContext {
  const { spec, service, identity } = source;
  return {
    requestId: call.requestId,
    credentials: credentialsOf(identity),
    function: {
      name: spec.name,
      handler: spec.handler,
      memory: spec.memorySizeMB,
      timeout: spec.timeoutMs / 1000,
      initializer: spec.initializer ?? '',
      initializationTimeout: spec.initializationTimeoutMs / 1000,
    },
    service: {
      name: service.name,
      logProject: service.logProject,
      logStore: service.logStore,
      qualifier: call.qualifier === '' ? service.qualifier : call.qualifier,
      versionId: service.versionId,
    },
    region: identity.region,
    accountId: identity.accountId,
    invokerContext: call.invokerContext ?? {},
    get signal(): AbortSignal {
      return call.abort.signal;
    },
    retryCount: call.retryCount ?? 0,
    tracing: tracingOf(call.trace),
  };
}

function tracingOf(trace: TraceContext | undefined): FunctionContext['tracing'] {
  const parsed = parseTraceparent(trace?.traceparent);
  return {
    traceparent: trace?.traceparent ?? '',
    tracestate: trace?.tracestate ?? '',
    openTracingSpanContext: parsed === undefined ? '' : `${parsed.traceId}:${parsed.parentId}:0:${parsed.flags}`,
    openTracingSpanBaggages: {},
    jaegerEndpoint: '',
  };
}
