/**
 * A device asks for the state of one of its own Async calls (docs/protocol.md §10.7). The client
 * ID comes from the topic, so a device sees only its own calls (with the ACL of §2.5).
 */
import { InvalidArgumentError, toEdgeFCError } from 'edgefc/errors';
import { decodeFrame } from 'edgefc/protocol';
import { assertRequestId } from 'edgefc/protocol';
import { encodeErrorReply, encodeOkReply } from 'edgefc/protocol';
import { replyTopic } from 'edgefc/protocol';
import { toView, type RecordView } from '../async/invocation-record.js';
import type { DispatchContext } from './dispatch-context.js';

/** Resolves once answered (a read of the record: the local file, or the cluster's KV bucket). */
export async function handleStatus(context: DispatchContext, clientId: string, payload: Buffer): Promise<void> {
  const replyTo = replyTopic(clientId);
  let id = '';
  try {
    const { header, body } = decodeFrame(payload);
    if (typeof header['id'] === 'string') id = header['id'];
    let args: unknown;
    try {
      args = JSON.parse(body.toString('utf8'));
    } catch (cause) {
      throw new InvalidArgumentError('a status query is a JSON object {"requestId": …} (§10.7)', { cause });
    }
    const requestId = (args as { requestId?: unknown } | null)?.requestId;
    assertRequestId(requestId);
    const record = await context.async.status(clientId, requestId);
    const view: RecordView = record === undefined
      ? { requestId, clientId, function: '', source: 'invoke', state: 'unknown' }
      : toView(record, true);
    context.sink.publish(replyTo, encodeOkReply(id, Buffer.from(JSON.stringify(view), 'utf8'), false));
  } catch (error) {
    context.sink.publish(replyTo, encodeErrorReply(id, toEdgeFCError(error).toWire()));
  }
}
