/**
 * Replies (docs/protocol.md §4): ok with result bytes, accepted for Async, or a typed error.
 */
import { errorFromWire, ProtocolError, type EdgeFCError, type WireError } from '../errors.js';
import { decodeFrame, encodeFrame, encodeFrameJson } from './envelope.js';

export const ReplyStatus = { ok: 'ok', accepted: 'accepted', error: 'error' } as const;
export type ReplyStatus = (typeof ReplyStatus)[keyof typeof ReplyStatus];

export type Reply =
  | { requestId: string; status: typeof ReplyStatus.ok; payload: Buffer; binary: boolean; logResult?: string }
  | { requestId: string; status: typeof ReplyStatus.accepted }
  | { requestId: string; status: typeof ReplyStatus.error; error: EdgeFCError; logResult?: string };

// The ok and accepted headers are the hot path (one per call): built as text, the same bytes
// JSON.stringify makes of `{ id, status[, binary] }` (test/unit/envelope.test.ts), without the object.
export function encodeOkReply(requestId: string, payload: Buffer, binary: boolean, logResult?: string): Buffer {
  const id = JSON.stringify(requestId);
  const log = logResult === undefined ? '' : `,"log":"${encodeLog(logResult)}"`;
  return encodeFrameJson(binary ? `{"id":${id},"status":"ok","binary":true${log}}` : `{"id":${id},"status":"ok"${log}}`, payload);
}

/** §4.1 `log`: standard base64 of the UTF-8 text, as FC's X-Fc-Log-Result (safe inside a JSON string as is). */
function encodeLog(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function decodeLog(value: unknown): { logResult?: string } {
  return typeof value === 'string' ? { logResult: Buffer.from(value, 'base64').toString('utf8') } : {};
}

export function encodeAcceptedReply(requestId: string): Buffer {
  return encodeFrameJson(`{"id":${JSON.stringify(requestId)},"status":"accepted"}`, undefined);
}

export function encodeErrorReply(requestId: string, error: WireError, logResult?: string): Buffer {
  const header = { id: requestId, status: ReplyStatus.error, error, ...(logResult === undefined ? {} : { log: encodeLog(logResult) }) };
  return encodeFrame(header, undefined);
}

/** Parse a reply; ProtocolError when it breaks §4.1. */
export function decodeReply(payload: Buffer): Reply {
  const { header, body } = decodeFrame(payload);
  const requestId = header['id'];
  if (typeof requestId !== 'string') throw new ProtocolError('reply has no request ID (§4.1)');
  switch (header['status']) {
    case ReplyStatus.ok:
      return { requestId, status: ReplyStatus.ok, payload: body, binary: header['binary'] === true, ...decodeLog(header['log']) };
    case ReplyStatus.accepted:
      return { requestId, status: ReplyStatus.accepted };
    case ReplyStatus.error:
      return { requestId, status: ReplyStatus.error, error: errorFromWire(header['error'], requestId), ...decodeLog(header['log']) };
    default:
      throw new ProtocolError(`reply status ${JSON.stringify(header['status']) ?? 'nothing'} is unknown (§4.2)`);
  }
}
