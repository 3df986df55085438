/**
 * A plain MQTT 5 request (docs/protocol.md §8): no envelope; Response Topic and Correlation Data
 * carry the reply address; the payload is the event.
 */
import { ErrorCode, toEdgeFCError, type EdgeFCError, type ErrorCode as ErrorCodeType } from '../../src/errors.js';
import { DEFAULT_QUALIFIER, InvocationType, assertPayloadSize } from '../../src/protocol/request.js';
import type { InvokeAddress } from '../../src/protocol/topics.js';
import { nanoid } from 'nanoid';
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
  const { responseTopic, correlationData } = message;
  if (responseTopic === undefined || correlationData === undefined) return;
  const arrivedAt = context.now();
  const fail = (error: EdgeFCError): void => {
    context.sink.publish(responseTopic, Buffer.from(JSON.stringify(error.toWire())), {
      correlationData,
      userProperties: { 'x-fc-status': STATUS_BY_CODE[error.code] ?? '500', 'x-fc-error-code': error.code },
    });
  };
  try {
    assertPayloadSize(InvocationType.Sync, message.payload.length);
    const call = startInvocation(
      context,
      address,
      {
        requestId: nanoid(),
        invocationType: InvocationType.Sync,
        timeoutMs: undefined, // §8.1: the function's own timeout bounds it
        invokerContext: undefined,
        qualifier: DEFAULT_QUALIFIER,
        event: message.payload,
      },
      arrivedAt,
    );
    call.result.then(
      (result) => context.sink.publish(responseTopic, result.payload, { correlationData, userProperties: { 'x-fc-status': '200' } }),
      (error: unknown) => fail(toEdgeFCError(error)),
    );
  } catch (error) {
    fail(toEdgeFCError(error));
  }
}
