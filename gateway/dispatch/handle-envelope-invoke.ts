/**
 * An enveloped invocation request (docs/protocol.md §3): validate, run, and answer on the
 * caller's reply topic (§2.2, §4).
 */
import { toEdgeFCError, type EdgeFCError } from '../../src/errors.js';
import { encodeAcceptedReply, encodeErrorReply, encodeOkReply } from '../../src/protocol/reply.js';
import { decodeRequest, InvocationType } from '../../src/protocol/request.js';
import { replyTopic, type InvokeAddress } from '../../src/protocol/topics.js';
import type { DispatchContext } from './dispatch-context.js';
import { startInvocation } from './run-invocation.js';

export function handleEnvelopeInvoke(context: DispatchContext, address: InvokeAddress, payload: Buffer): void {
  const arrivedAt = context.now();
  const replyTo = replyTopic(address.clientId);
  const fail = (requestId: string, error: EdgeFCError): void => {
    context.sink.publish(replyTo, encodeErrorReply(requestId, error.toWire()));
  };

  let requestId = '';
  try {
    const request = decodeRequest(payload);
    requestId = request.requestId;
    const call = startInvocation(context, address, request, arrivedAt);
    if (request.invocationType === InvocationType.Async) {
      // §3.5: accepted means the gateway has queued it; the outcome is logged, not sent.
      context.sink.publish(replyTo, encodeAcceptedReply(requestId));
      call.result.then(
        () => context.logger.debug('async call finished', { requestId, function: `${call.service.name}/${call.fn.name}` }),
        (error: unknown) => {
          const typed = toEdgeFCError(error);
          context.logger.warn('async call failed', {
            requestId,
            function: `${call.service.name}/${call.fn.name}`,
            code: typed.code,
            error: typed.message,
          });
        },
      );
      return;
    }
    call.result.then(
      (result) => context.sink.publish(replyTo, encodeOkReply(requestId, result.payload, result.binary)),
      (error: unknown) => fail(requestId, toEdgeFCError(error)),
    );
  } catch (error) {
    const typed = toEdgeFCError(error);
    fail(requestId === '' ? (typed.requestId ?? '') : requestId, typed);
  }
}
