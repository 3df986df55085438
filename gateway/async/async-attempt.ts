/**
 * One attempt of an Async call handed to the function host, the same for both queues (the SQLite
 * one, async-service.ts, and the cluster's, jetstream/jetstream-runner.ts).
 */
import type { TraceContext } from 'edgefc/protocol';
import type { FunctionHost } from '../function-host.js';
import type { FunctionSpec, ServiceSpec } from '../registry/types.js';
import type { InvocationResult } from '../runtime/types.js';
import type { InvocationSource } from './invocation-record.js';

export interface AsyncAttempt {
  requestId: string;
  event: Buffer;
  invokerContext: Record<string, unknown> | undefined;
  qualifier: string;
  source: InvocationSource;
  trace?: TraceContext | undefined;
}

/** Throws when the pool refuses the call at once (the caller decides: retry shortly, or not an attempt). */
export function submitAttempt(
  host: FunctionHost,
  target: { service: Readonly<ServiceSpec>; fn: Readonly<FunctionSpec> },
  call: AsyncAttempt,
  signal: AbortSignal,
  attempts: number,
): Promise<InvocationResult> {
  return host.submit(
    target.service,
    target.fn,
    {
      signal,
      requestId: call.requestId,
      invocationType: 'Async',
      event: call.event,
      invokerContext: call.invokerContext,
      qualifier: call.qualifier,
      // §10.4: an Async run is bounded by the function's timeout, not by the caller's wait for "accepted".
      deadline: Number.POSITIVE_INFINITY,
      // §10.4: the attempts before this one (context.retryCount).
      retryCount: attempts - 1,
      ...(call.trace === undefined ? {} : { trace: call.trace }),
    },
    // A trigger's message is a publish/subscribe event; anything else an ordinary invocation.
    call.source === 'trigger' ? 'pubsub' : 'other',
  );
}
