/**
 * What both Async queues (./async-service.ts on one box, ./jetstream/jetstream-queue.ts in a
 * cluster) do the same way when they take a call (§10.1): the call made from its request, and
 * the refusals a caller sees, worded once.
 */
import { InvalidArgumentError, ResourceThrottledError } from 'edgefc/errors';
import type { AcceptInput } from './async-queue.js';
import type { InvocationRecord, NewInvocation } from './invocation-record.js';

/**
 * The call to keep, accepted at `now`. InvalidArgument for a delay (§3.8) not shorter than the
 * function's maxAsyncEventAge: the delay counts against the event age, so it could only expire.
 */
export function newInvocation(
  target: { service: string; function: string; maxAsyncEventAgeMs: number },
  input: AcceptInput,
  now: number,
): NewInvocation {
  const { delayMs, ...origin } = input;
  if (delayMs !== undefined && delayMs >= target.maxAsyncEventAgeMs) {
    throw new InvalidArgumentError(
      `a delay of ${delayMs / 1000} s is not shorter than ${target.service}/${target.function}'s maxAsyncEventAgeInSeconds (${target.maxAsyncEventAgeMs / 1000} s): the call would expire unrun`,
      { requestId: input.requestId },
    );
  }
  return {
    ...origin,
    service: target.service,
    function: target.function,
    createdAt: now,
    ...(delayMs === undefined || delayMs <= 0 ? {} : { notBefore: now + delayMs }),
  };
}

/** §10.6: the function's durable queue is full. */
export function queueFullError(label: string, waiting: number, limit: number, requestId: string): ResourceThrottledError {
  return new ResourceThrottledError(`${label} has ${waiting} Async calls waiting (maxAsyncQueueLength ${limit}); retry later`, { requestId });
}

/** §10.2: a request ID this client used for another call (another function, or another event). */
export function requestIdReusedError(
  call: NewInvocation,
  stored: Pick<InvocationRecord, 'service' | 'function' | 'createdAt' | 'state'>,
  sameFunction: boolean,
): InvalidArgumentError {
  return new InvalidArgumentError(
    `request ID ${call.requestId} was already used by this client for ${sameFunction ? 'a call with a different event' : `${stored.service}/${stored.function}`}` +
      ` (stored ${new Date(stored.createdAt).toISOString()}, ${stored.state}); a retry must send the same call, a new call needs a new request ID (§10.2)`,
    { requestId: call.requestId },
  );
}
