/**
 * A plain MQTT 5 request (docs/protocol.md §8): no envelope; Response Topic and Correlation Data
 * carry the reply address; the payload is the event.
 */
import { ErrorCode, toEdgeFCError, type EdgeFCError, type ErrorCode as ErrorCodeType } from '../../src/errors.js';
import { DEFAULT_QUALIFIER, InvocationType, assertPayloadSize } from '../../src/protocol/request.js';
import type { InvokeAddress } from '../../src/protocol/topics.js';
import { newRequestId } from '../../src/protocol/request-id.js';
import type { InboundMessage } from '../transport/inbound-message.js';
import type { DispatchContext } from './dispatch-context.js';
import { startInvocation } from './run-invocation.js';

/** §8.3: HTTP-style status per code, for tools that only look at `x-fc-status`. */
const STATUS_BY_CODE: Partial<Record<ErrorCodeType, string>> = {
  [ErrorCode.InvalidArgument]: '400',
  [ErrorCode.ProtocolError]: '400',
  [ErrorCode.ServiceNotFound]: '404',
  [ErrorCode.FunctionNotFound]: '404',
  [ErrorCode.ResourceThrottled]: '429',
  [ErrorCode.FunctionTimeout]: '504',
  [ErrorCode.DeadlineExceeded]: '504',
  [ErrorCode.ServiceUnavailable]: '503',
};

export function handlePlainInvoke(context: DispatchContext, address: InvokeAddress, message: InboundMessage): void {
  const { responseTopic, correlationData, messageExpiryInterval } = message;
  if (responseTopic === undefined) return;
  const arrivedAt = context.now();
  const reply = (payload: Buffer, userProperties: Record<string, string>): void => {
    context.sink.publish(responseTopic, payload, correlationData === undefined ? { userProperties } : { correlationData, userProperties });
  };
  const fail = (error: EdgeFCError): void => {
    reply(Buffer.from(JSON.stringify(error.toWire())), {
      'x-fc-status': STATUS_BY_CODE[error.code] ?? '500',
      'x-fc-error-code': error.code,
    });
  };
  // Gives back the client's in-flight slot (§7.5) once the call has an outcome; nothing to give back before admit.
  let release = (): void => undefined;
  try {
    assertPayloadSize(InvocationType.Sync, message.payload.length);
    const requestId = newRequestId();
    // §7.5: before the call is queued.
    release = context.clientLimits.admit(address.clientId, requestId);
    const call = startInvocation(
      context,
      address,
      {
        requestId,
        invocationType: InvocationType.Sync,
        // §8.1: the message's expiry is the caller's budget; without one the function timeout bounds it.
        timeoutMs: messageExpiryInterval === undefined || messageExpiryInterval === 0 ? undefined : messageExpiryInterval * 1000,
        invokerContext: undefined,
        qualifier: DEFAULT_QUALIFIER,
        event: message.payload,
      },
      arrivedAt,
    );
    call.result.then(
      (result) => {
        release();
        reply(result.payload, { 'x-fc-status': '200' });
      },
      (error: unknown) => {
        release();
        fail(toEdgeFCError(error));
      },
    );
  } catch (error) {
    release();
    fail(toEdgeFCError(error));
  }
}
