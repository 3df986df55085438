/**
 * Envelope framing (docs/protocol.md §3.1, §4.1): magic, version, a small JSON header, then raw
 * bytes. The event never goes through base64 or JSON: a 1 MiB event costs one copy into the
 * frame on the way out and none on the way in (the body is a subarray of the packet).
 */
import { ProtocolError } from '../errors.js';
import { MAX_HEADER_BYTES } from './limits.js';

/** §3.1: 0xEF 0xC1 ("edgefc"), chosen so no UTF-8 text payload can start with it. */
export const MAGIC_0 = 0xef;
export const MAGIC_1 = 0xc1;
export const ENVELOPE_VERSION = 1;
/** Magic (2) + version (1) + header length (2). */
export const PREFIX_BYTES = 5;

export interface Frame {
  header: Record<string, unknown>;
  body: Buffer;
}

/** Frame a header and body (§3.1). */
export function encodeFrame(header: object, body: Buffer | undefined): Buffer {
  return encodeFrameJson(JSON.stringify(header), body);
}

/**
 * Frame an already serialized header (a JSON object's text) and body (§3.1). The JSON is written
 * straight into the frame: one allocation and one copy of the body per message, no intermediate
 * header Buffer (the hot path builds reply and request headers as strings, see reply.ts).
 */
export function encodeFrameJson(json: string, body: Buffer | undefined): Buffer {
  // An ASCII header (every ID, status and code is ASCII) is as many bytes as characters.
  const headerBytes = Buffer.byteLength(json, 'utf8');
  if (headerBytes > MAX_HEADER_BYTES) {
    throw new ProtocolError(`envelope header is ${headerBytes} bytes; the limit is ${MAX_HEADER_BYTES} (§7.4)`);
  }
  const bodyStart = PREFIX_BYTES + headerBytes;
  const frame = Buffer.allocUnsafe(bodyStart + (body === undefined ? 0 : body.length));
  frame[0] = MAGIC_0;
  frame[1] = MAGIC_1;
  frame[2] = ENVELOPE_VERSION;
  frame[3] = headerBytes >>> 8;
  frame[4] = headerBytes & 0xff;
  frame.write(json, PREFIX_BYTES, 'utf8');
  if (body !== undefined && body.length > 0) frame.set(body, bodyStart);
  return frame;
}

/** True when the payload starts with the envelope magic (§3.1). */
export function hasEnvelopeMagic(payload: Uint8Array): boolean {
  return payload.length >= 2 && payload[0] === MAGIC_0 && payload[1] === MAGIC_1;
}

/** Split a frame into header and body; ProtocolError for anything that breaks §3.1. */
export function decodeFrame(payload: Buffer): Frame {
  if (payload.length < PREFIX_BYTES) {
    throw new ProtocolError(`payload of ${payload.length} bytes is too short for an envelope (§3.1)`);
  }
  if (!hasEnvelopeMagic(payload)) throw new ProtocolError('payload does not start with the envelope magic (§3.1)');
  const version = payload[2];
  if (version !== ENVELOPE_VERSION) {
    throw new ProtocolError(`envelope version ${String(version)} is not supported; this gateway speaks ${ENVELOPE_VERSION} (§3.1)`);
  }
  const headerLength = payload.readUInt16BE(3);
  const bodyStart = PREFIX_BYTES + headerLength;
  if (bodyStart > payload.length) throw new ProtocolError('envelope header overruns the payload (§3.1)');
  let header: unknown;
  try {
    header = JSON.parse(payload.toString('utf8', PREFIX_BYTES, bodyStart));
  } catch (cause) {
    throw new ProtocolError('envelope header is not valid JSON (§3.1)', { cause });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new ProtocolError('envelope header is not a JSON object (§3.1)');
  }
  return { header: header as Record<string, unknown>, body: payload.subarray(bodyStart) };
}
