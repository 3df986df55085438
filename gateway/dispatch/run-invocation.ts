/**
 * The part of a call both request styles share: look the function up, fix the deadline, run it.
 */
import { DEFAULT_QUALIFIER, type DecodedRequest } from 'edgefc/protocol';
import { FunctionNotFoundError } from 'edgefc/errors';
import type { RegistryEntry } from '../registry/registry.js';
import type { TraceContext } from 'edgefc/protocol';
import type { InvokeAddress } from 'edgefc/protocol';
import type { FunctionSpec, ServiceSpec } from '../registry/types.js';
import type { Invocation, InvocationResult } from '../runtime/types.js';
import type { DispatchContext } from './dispatch-context.js';

/**
 * A call as both request styles describe it: an enveloped request decodes to exactly this; a
 * plain MQTT 5 request (§8) builds one. `timeoutMs` is the budget from arrival (§3.4);
 * undefined: the function's own timeout bounds the run.
 */
export type CallRequest = Omit<DecodedRequest, 'logType'>;

export interface StartedCall {
  service: ServiceSpec;
  fn: FunctionSpec;
  result: Promise<InvocationResult>;
}

/**
 * Look up and start a call. Throws (synchronously) ServiceNotFound / FunctionNotFound,
 * AccessDenied (the caller is not among the function's invokers, docs/security.md §3.2), and
 * whatever the host refuses at once (ResourceThrottled, ServiceUnavailable); the returned
 * promise carries the outcome of the run itself.
 */
export function startInvocation(context: DispatchContext, address: InvokeAddress, request: CallRequest, arrivedAt: number): StartedCall {
  const { service, fn } = lookupQualified(context, address, request.qualifier);
  context.policy?.assertMayInvoke(address.clientId, fn);
  // §3.4: the deadline is on the gateway's clock, from arrival; the function timeout caps the run.
  const deadline = request.timeoutMs === undefined ? Number.POSITIVE_INFINITY : arrivedAt + request.timeoutMs;
  const invocation: Invocation = {
    requestId: request.requestId,
    invocationType: request.invocationType,
    event: request.event,
    invokerContext: request.invokerContext,
    qualifier: request.qualifier,
    deadline,
  };
  const trace = traceOf(request);
  if (trace !== undefined) invocation.trace = trace;
  return { service, fn, result: context.host.submit(service, fn, invocation) };
}

/**
 * §3.2a: the function as the call's qualifier names it — LATEST (the registry), a version, or an
 * alias (weighted: one of its two versions). Throws ServiceNotFound / FunctionNotFound.
 */
export function lookupQualified(context: DispatchContext, address: Pick<InvokeAddress, 'serviceName' | 'functionName'>, qualifier: string): RegistryEntry {
  if (qualifier === DEFAULT_QUALIFIER) return context.registry.lookup(address.serviceName, address.functionName);
  if (context.versions === undefined) throw new FunctionNotFoundError(`qualifier "${qualifier}" names no version or alias: this gateway keeps none (§3.2a)`);
  return context.versions.resolve(address.serviceName, address.functionName, qualifier);
}

/** The request's trace context (§3.7), as calls and Async records carry it; undefined without one. */
export function traceOf(request: Pick<CallRequest, 'traceparent' | 'tracestate'>): TraceContext | undefined {
  if (request.traceparent === undefined) return undefined;
  return request.tracestate === undefined ? { traceparent: request.traceparent } : { traceparent: request.traceparent, tracestate: request.tracestate };
}
