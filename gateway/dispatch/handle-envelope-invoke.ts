/**
 * An enveloped invocation request (docs/protocol.md §3): validate, run, and answer on the
 * caller's reply topic (§2.2, §4). Async calls are stored first (§10.1): the returned promise
 * settles once the call is kept (on disk, or acknowledged by a replicated JetStream stream in a
 * NATS cluster), and the transport holds the message's PUBACK until then where it can.
 */
import { toEdgeFCError, type EdgeFCError } from 'edgefc/errors';
import { encodeAcceptedReply, encodeErrorReply, encodeOkReply } from 'edgefc/protocol';
import { decodeRequest, InvocationType, LogType, type DecodedRequest } from 'edgefc/protocol';
import { tapLogTail } from '../logging/function-logs.js';
import type { InvocationResult } from '../runtime/types.js';
import type { CallSpan } from '../tracing/call-tracer.js';
import { replyTopic, type InvokeAddress } from 'edgefc/protocol';
import type { DispatchContext } from './dispatch-context.js';
import { lookupQualified, startInvocation, traceOf } from './run-invocation.js';

export function handleEnvelopeInvoke(context: DispatchContext, address: InvokeAddress, payload: Buffer): Promise<void> | undefined {
  const arrivedAt = context.now();
  const replyTo = replyTopic(address.clientId);
  let requestId = '';
  try {
    const request = decodeRequest(payload);
    requestId = request.requestId;
    if (request.invocationType === InvocationType.Async) return acceptAsync(context, address, request, replyTo);
    // §10.2: a retry of a Sync call that is running, or finished within the window, is not run again.
    const replay = context.syncReplay.lookup(address.clientId, requestId);
    // §7.5: before anything is queued; a replay counts against the rate, not the calls in flight.
    const release = context.clientLimits.admit(address.clientId, requestId, replay === undefined);
    // §3.6: the call's log tail, kept from before it starts (a replayed outcome has none).
    const tail = request.logType === LogType.Tail && replay === undefined ? tapLogTail(context.host.logs, requestId) : undefined;
    let outcome: Promise<InvocationResult>;
    try {
      outcome = replay ?? startInvocation(context, address, request, arrivedAt).result;
    } catch (error) {
      release();
      tail?.();
      throw error;
    }
    if (replay === undefined) context.syncReplay.track(address.clientId, requestId, outcome);
    // Out of the client's calls in flight, and timed end to end, once its reply is sent.
    const replied = (): void => {
      release();
      context.metrics?.syncReplied(`${address.serviceName}/${address.functionName}`, (context.now() - arrivedAt) / 1000);
    };
    outcome.then(
      (result) => {
        context.sink.publish(replyTo, encodeOkReply(requestId, result.payload, result.binary, tail?.()));
        replied();
      },
      (error: unknown) => {
        fail(context, replyTo, requestId, toEdgeFCError(error), tail?.());
        replied();
      },
    );
  } catch (error) {
    const typed = toEdgeFCError(error);
    fail(context, replyTo, requestId === '' ? (typed.requestId ?? '') : requestId, typed);
  }
  return undefined;
}

function fail(context: DispatchContext, replyTo: string, requestId: string, error: EdgeFCError, logResult?: string): void {
  context.sink.publish(replyTo, encodeErrorReply(requestId, error.toWire(), logResult));
}

/** §3.5, §10.1: "accepted" only once the call is committed; a duplicate ID is accepted again, not stored again. */
function acceptAsync(
  context: DispatchContext,
  address: InvokeAddress,
  request: DecodedRequest,
  replyTo: string,
): Promise<void> {
  const { requestId } = request;
  // §7.5: an Async call is in flight until it is accepted; then its durable queue bounds it (§10.6).
  const release = context.clientLimits.admit(address.clientId, requestId);
  let stored: Promise<unknown>;
  let span: CallSpan | undefined;
  try {
    // §3.2a: a qualifier that names nothing is refused now; what it names is resolved again at
    // each run (AsyncService), so an alias moved meanwhile sends the call to its new version.
    const { service, fn } = lookupQualified(context, address, request.qualifier);
    context.policy?.assertMayInvoke(address.clientId, fn);
    // The intake's span; the record keeps its context, so every attempt is its child.
    span = context.tracer?.startIntake(fn, requestId, traceOf(request));
    stored = context.async.accept(service, fn, {
      clientId: address.clientId,
      requestId,
      source: 'invoke',
      topic: undefined,
      event: request.event,
      invokerContext: request.invokerContext,
      qualifier: request.qualifier,
      trace: span === undefined ? traceOf(request) : span.trace,
      ...(request.delaySeconds === undefined ? {} : { delayMs: request.delaySeconds * 1000 }),
    });
  } catch (error) {
    release();
    span?.end(toEdgeFCError(error));
    throw error;
  }
  return stored.then(
    () => {
      release();
      context.sink.publish(replyTo, encodeAcceptedReply(requestId));
      span?.end();
    },
    (error: unknown) => {
      release();
      const typed = toEdgeFCError(error);
      fail(context, replyTo, requestId, typed);
      span?.end(typed);
    },
  );
}
