/**
 * An accepted call as the JetStream stream keeps it (docs/cluster.md "Async calls"): what
 * running it needs, fixed at acceptance (§10.1). JSON, the event base64: at most 128 KiB of event
 * (MAX_ASYNC_PAYLOAD_BYTES) becomes ~171 KiB, under the server's 1 MiB message cap.
 */
import { InvalidArgumentError } from 'edgefc/errors';
import type { TraceContext } from 'edgefc/protocol';
import type { InvocationSource, NewInvocation } from '../invocation-record.js';

interface CallMessageJson {
  v: 1;
  clientId: string;
  requestId: string;
  service: string;
  function: string;
  source: InvocationSource;
  topic?: string;
  event: string;
  invokerContext?: Record<string, unknown>;
  qualifier: string;
  createdAt: number;
  notBefore?: number;
  trace?: TraceContext;
}

export function encodeCallMessage(call: NewInvocation): Uint8Array {
  const json: CallMessageJson = {
    v: 1,
    clientId: call.clientId,
    requestId: call.requestId,
    service: call.service,
    function: call.function,
    source: call.source,
    event: call.event.toString('base64'),
    qualifier: call.qualifier,
    createdAt: call.createdAt,
    ...(call.topic === undefined ? {} : { topic: call.topic }),
    ...(call.invokerContext === undefined ? {} : { invokerContext: call.invokerContext }),
    ...(call.notBefore === undefined ? {} : { notBefore: call.notBefore }),
    ...(call.trace === undefined ? {} : { trace: call.trace }),
  };
  return Buffer.from(JSON.stringify(json), 'utf8');
}

/** InvalidArgument for a message no gateway wrote (only the gateway login may publish here). */
export function decodeCallMessage(data: Uint8Array): NewInvocation {
  let json: CallMessageJson;
  try {
    json = JSON.parse(Buffer.from(data).toString('utf8')) as CallMessageJson;
  } catch (cause) {
    throw new InvalidArgumentError('an Async stream message is not JSON', { cause });
  }
  if (json.v !== 1 || typeof json.requestId !== 'string' || typeof json.service !== 'string' || typeof json.function !== 'string') {
    throw new InvalidArgumentError('an Async stream message is not an edgefc call (v1)');
  }
  return {
    clientId: json.clientId,
    requestId: json.requestId,
    service: json.service,
    function: json.function,
    source: json.source,
    topic: json.topic,
    event: Buffer.from(json.event, 'base64'),
    invokerContext: json.invokerContext,
    qualifier: json.qualifier,
    createdAt: json.createdAt,
    notBefore: json.notBefore,
    ...(json.trace === undefined ? {} : { trace: json.trace }),
  };
}
