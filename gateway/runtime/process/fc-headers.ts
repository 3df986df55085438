/**
 * Function Compute's request headers, as a custom runtime's web server (POST /invoke,
 * /initialize) and a runtime API client (GET .../invocation/next) read them. Names are FC's
 * (its "common request headers" and fc-runtime-go-sdk's runtime_api_client.go); two are ours,
 * since FC has no header for them: `x-fc-invocation-type` (Sync or Async) and
 * `x-fc-invoker-context` (the caller's invokerContext, standard base64 of its JSON, exactly as
 * on the wire: docs/protocol.md §5). docs/runtime-custom.md lists them all.
 */
import type { InstanceConfig, Invocation } from '../types.js';

export const FcHeader = {
  requestId: 'x-fc-request-id',
  functionName: 'x-fc-function-name',
  functionHandler: 'x-fc-function-handler',
  functionMemory: 'x-fc-function-memory',
  functionTimeout: 'x-fc-function-timeout',
  initializationTimeout: 'x-fc-initialization-timeout',
  functionInitializer: 'x-fc-function-initializer',
  serviceName: 'x-fc-service-name',
  serviceLogProject: 'x-fc-service-logproject',
  serviceLogStore: 'x-fc-service-logstore',
  qualifier: 'x-fc-qualifier',
  versionId: 'x-fc-version-id',
  region: 'x-fc-region',
  accountId: 'x-fc-account-id',
  accessKeyId: 'x-fc-access-key-id',
  accessKeySecret: 'x-fc-access-key-secret',
  securityToken: 'x-fc-security-token',
  invocationType: 'x-fc-invocation-type',
  invokerContext: 'x-fc-invoker-context',
  /** Attempts before this one (Async retries); FC's header, read by fc-runtime-go-sdk. */
  retryCount: 'x-fc-retry-count',
  controlPath: 'x-fc-control-path',
  /**
   * W3C Trace Context's own header names (docs/protocol.md §3.7.5): FC's tracing headers carry
   * Jaeger span contexts, and W3C's are what OpenTelemetry SDKs read.
   */
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** Response header of a custom runtime's server: 200 success, 404 function error (FC). */
  status: 'x-fc-status',
} as const;

/** The call, or the part of it an initializer / pre-stop request has. */
export type HeaderCall = Pick<Invocation, 'requestId' | 'qualifier'> &
  Partial<Pick<Invocation, 'invocationType' | 'invokerContext' | 'retryCount' | 'trace'>>;

export function fcRequestHeaders(config: InstanceConfig, call: HeaderCall): Record<string, string> {
  const { fn, service, identity } = config;
  const headers: Record<string, string> = {
    [FcHeader.requestId]: call.requestId,
    [FcHeader.functionName]: fn.name,
    [FcHeader.functionHandler]: fn.handler,
    [FcHeader.functionMemory]: String(fn.memorySizeMB),
    // Whole seconds: fc-runtime-go-sdk parses it with strconv.Atoi.
    [FcHeader.functionTimeout]: String(Math.ceil(fn.timeoutMs / 1000)),
    [FcHeader.initializationTimeout]: String(Math.ceil(fn.initializationTimeoutMs / 1000)),
    [FcHeader.functionInitializer]: fn.initializer ?? '',
    [FcHeader.serviceName]: service.name,
    [FcHeader.serviceLogProject]: service.logProject,
    [FcHeader.serviceLogStore]: service.logStore,
    [FcHeader.qualifier]: call.qualifier === '' ? service.qualifier : call.qualifier,
    [FcHeader.versionId]: service.versionId,
    [FcHeader.region]: identity.region,
    [FcHeader.accountId]: identity.accountId,
    [FcHeader.accessKeyId]: identity.credentials.accessKeyId,
    [FcHeader.accessKeySecret]: identity.credentials.accessKeySecret,
    [FcHeader.securityToken]: identity.credentials.securityToken,
    [FcHeader.retryCount]: String(call.retryCount ?? 0),
  };
  if (call.invocationType !== undefined) headers[FcHeader.invocationType] = call.invocationType;
  if (call.invokerContext !== undefined) {
    headers[FcHeader.invokerContext] = Buffer.from(JSON.stringify(call.invokerContext)).toString('base64');
  }
  if (call.trace !== undefined) {
    headers[FcHeader.traceparent] = call.trace.traceparent;
    if (call.trace.tracestate !== undefined) headers[FcHeader.tracestate] = call.trace.tracestate;
  }
  for (const [name, value] of Object.entries(headers)) headers[name] = headerSafe(value);
  return headers;
}

/**
 * Node refuses header values with control characters or code points above 0xFF (a region
 * written in Chinese, a newline in a credential). Those characters become "?" rather than
 * failing every call of the function.
 */
export function headerSafe(value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}
