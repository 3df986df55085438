/**
 * A plain MQTT 5 request (docs/protocol.md §8): no envelope; Response Topic and Correlation Data
 * carry the reply address; the payload is the event.
 */
import { AccessDeniedError, ErrorCode, toEdgeFCError, type EdgeFCError, type ErrorCode as ErrorCodeType } from 'edgefc/errors';
import { DEFAULT_QUALIFIER, InvocationType, assertPayloadSize, assertQualifier } from 'edgefc/protocol';
import { replyTopic, type InvokeAddress } from 'edgefc/protocol';
import { responseTopicAllowed } from '../security/call-policy.js';
import { newRequestId } from 'edgefc/protocol';
import { readTraceContext } from 'edgefc/protocol';
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
  [ErrorCode.AccessDenied]: '403',
};

export function handlePlainInvoke(context: DispatchContext, address: InvokeAddress, message: InboundMessage): void {
  const { correlationData, messageExpiryInterval } = message;
  if (message.responseTopic === undefined) return;
  // §8.5: replies go only to the caller's own reply topic (or below it). Another Response Topic
  // is answered AccessDenied there, never published to: it could be another client's inbox.
  const allowed = responseTopicAllowed(address.clientId, message.responseTopic);
  const responseTopic = allowed ? message.responseTopic : replyTopic(address.clientId);
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
    if (!allowed) {
      throw new AccessDeniedError(`Response Topic ${message.responseTopic} is not ${responseTopic} or below it (docs/protocol.md §8.5)`);
    }
    assertPayloadSize(InvocationType.Sync, message.payload.length);
    // §8.7: the user property x-fc-qualifier names a version or alias (§3.2a); LATEST without one.
    const qualifier = message.qualifier ?? DEFAULT_QUALIFIER;
    assertQualifier(qualifier);
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
        qualifier,
        event: message.payload,
        // §8.6: W3C trace context from the user properties; malformed is dropped (§3.7.2).
        ...readTraceContext(message.traceparent, message.tracestate),
      },
      arrivedAt,
    );
    // Out of the client's calls in flight, and timed end to end once its reply is sent: the
    // same Sync latency histogram as an enveloped call (handle-envelope-invoke.ts).
    const replied = (): void => {
      release();
      context.metrics?.syncReplied(`${address.serviceName}/${address.functionName}`, (context.now() - arrivedAt) / 1000);
    };
    call.result.then(
      (result) => {
        reply(result.payload, { 'x-fc-status': '200' });
        replied();
      },
      (error: unknown) => {
        fail(toEdgeFCError(error));
        replied();
      },
    );
  } catch (error) {
    release();
    fail(toEdgeFCError(error));
  }
}
