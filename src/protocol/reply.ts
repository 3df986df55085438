/**
 * Replies (docs/protocol.md §4): ok with result bytes, accepted for Async, or a typed error.
 */
import { errorFromWire, ProtocolError, type EdgeFCError, type WireError } from '../errors.js';
import { decodeFrame, encodeFrame } from './envelope.js';

export const ReplyStatus = { ok: 'ok', accepted: 'accepted', error: 'error' } as const;
export type ReplyStatus = (typeof ReplyStatus)[keyof typeof ReplyStatus];

export type Reply =
  | { requestId: string; status: typeof ReplyStatus.ok; payload: Buffer; binary: boolean }
  | { requestId: string; status: typeof ReplyStatus.accepted }
  | { requestId: string; status: typeof ReplyStatus.error; error: EdgeFCError };

export function encodeOkReply(requestId: string, payload: Buffer, binary: boolean): Buffer {
  const header = binary ? { id: requestId, status: ReplyStatus.ok, binary: true } : { id: requestId, status: ReplyStatus.ok };
  return encodeFrame(header, payload);
}

export function encodeAcceptedReply(requestId: string): Buffer {
  return encodeFrame({ id: requestId, status: ReplyStatus.accepted }, undefined);
}

export function encodeErrorReply(requestId: string, error: WireError): Buffer {
  return encodeFrame({ id: requestId, status: ReplyStatus.error, error }, undefined);
}

/** Parse a reply; ProtocolError when it breaks §4.1. */
export function decodeReply(payload: Buffer): Reply {
  const { header, body } = decodeFrame(payload);
  const requestId = header['id'];
  if (typeof requestId !== 'string') throw new ProtocolError('reply has no request ID (§4.1)');
  switch (header['status']) {
    case ReplyStatus.ok:
      return { requestId, status: ReplyStatus.ok, payload: body, binary: header['binary'] === true };
    case ReplyStatus.accepted:
      return { requestId, status: ReplyStatus.accepted };
    case ReplyStatus.error:
      return { requestId, status: ReplyStatus.error, error: errorFromWire(header['error'], requestId) };
    default:
      throw new ProtocolError(`reply status ${JSON.stringify(header['status']) ?? 'nothing'} is unknown (§4.2)`);
  }
}
