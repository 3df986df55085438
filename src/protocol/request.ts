/**
 * Invocation requests (docs/protocol.md §3): what a client sends and what the gateway accepts.
 * `decodeRequest` is the gateway's single gate: everything it returns has been checked against
 * §3 and §5–§7, so nothing malformed ever reaches a handler.
 */
import { EdgeFCError, InvalidArgumentError } from '../errors.js';
import { decodeFrame, encodeFrameJson } from './envelope.js';
import { decodeInvokerContext, type InvokerContext } from './invoker-context.js';
import { MAX_ASYNC_PAYLOAD_BYTES, MAX_SYNC_PAYLOAD_BYTES, MAX_TIMEOUT_MS } from './limits.js';
import { assertRequestId } from './names.js';
import { readTraceContext } from './trace-context.js';

export const InvocationType = { Sync: 'Sync', Async: 'Async' } as const;
export type InvocationType = (typeof InvocationType)[keyof typeof InvocationType];

export const DEFAULT_QUALIFIER = 'LATEST';
const QUALIFIER_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/** The header of §3.2, as the client builds it. */
export interface RequestHeader {
  id: string;
  type: InvocationType;
  timeout?: number;
  ctx?: string;
  qualifier?: string;
  /** §3.2, §3.6: `"Tail"` asks for the last 4 KiB of the call's log with the reply. */
  log?: LogType;
  /** §3.7: W3C trace context of the call. */
  traceparent?: string;
  tracestate?: string;
  /** §3.8: Async only, seconds (0–3600) before the call may run (FC's x-fc-async-delay). */
  delay?: number;
}

/** §3.8: FC's x-fc-async-delay range, in seconds. */
export const MAX_ASYNC_DELAY_SECONDS = 3600;

/** §3.8: a delay is a whole number of seconds from 0 to 3600, for Async calls only. */
/** §3.2: `LATEST`, a version number or an alias name (§3.2a). */
export function assertQualifier(value: unknown): asserts value is string {
  if (typeof value !== 'string' || !QUALIFIER_PATTERN.test(value)) {
    throw new InvalidArgumentError(`qualifier must be 1–128 characters of letters, digits, "_", "-" and "." (§3.2)`);
  }
}

export function assertAsyncDelay(value: unknown, type: InvocationType): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ASYNC_DELAY_SECONDS) {
    throw new InvalidArgumentError(`delay must be a whole number of seconds from 0 to ${MAX_ASYNC_DELAY_SECONDS} (got ${String(value)}) (§3.8)`);
  }
  if (type !== InvocationType.Async) throw new InvalidArgumentError('a delay is for Async calls only (§3.8)');
}

/** §3.6: FC's X-Fc-Log-Type values. */
export const LogType = { None: 'None', Tail: 'Tail' } as const;
export type LogType = (typeof LogType)[keyof typeof LogType];

export interface DecodedRequest {
  requestId: string;
  invocationType: InvocationType;
  /** §3.4: ms budget left at publish time; undefined for an Async call that sent none. */
  timeoutMs: number | undefined;
  invokerContext: InvokerContext | undefined;
  qualifier: string;
  event: Buffer;
  /** §3.6: present when the caller asked for the log tail. */
  logType?: typeof LogType.Tail;
  /** §3.7: the caller's W3C trace context, when it sent a valid one. */
  traceparent?: string;
  tracestate?: string;
  /** §3.8: seconds before the (Async) call may run, when the caller asked for a delay. */
  delaySeconds?: number;
}

export function isInvocationType(value: unknown): value is InvocationType {
  return value === InvocationType.Sync || value === InvocationType.Async;
}

export function payloadCap(type: InvocationType): number {
  return type === InvocationType.Sync ? MAX_SYNC_PAYLOAD_BYTES : MAX_ASYNC_PAYLOAD_BYTES;
}

/** §7.2: refuse an event over its cap before it is sent or run. */
export function assertPayloadSize(type: InvocationType, length: number): void {
  const cap = payloadCap(type);
  if (length > cap) {
    throw new InvalidArgumentError(`${type} payload is ${length} bytes; the limit is ${cap} (§7.2)`);
  }
}

/** §3.4: a budget is a whole number of ms from 1 to 24 h. */
export function assertTimeout(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError(`timeout must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS} (got ${String(value)}) (§3.4)`);
  }
}

/**
 * Frame a request. The header is built as text, one call per request on the client's hot path:
 * the same bytes as JSON.stringify(header) for the fields of RequestHeader, in that order.
 */
export function encodeRequest(header: RequestHeader, event: Buffer | undefined): Buffer {
  let json = `{"id":${JSON.stringify(header.id)},"type":${JSON.stringify(header.type)}`;
  if (header.timeout !== undefined) json += `,"timeout":${JSON.stringify(header.timeout)}`;
  if (header.ctx !== undefined) json += `,"ctx":${JSON.stringify(header.ctx)}`;
  if (header.qualifier !== undefined) json += `,"qualifier":${JSON.stringify(header.qualifier)}`;
  if (header.log !== undefined) json += `,"log":${JSON.stringify(header.log)}`;
  if (header.traceparent !== undefined) json += `,"traceparent":${JSON.stringify(header.traceparent)}`;
  if (header.tracestate !== undefined) json += `,"tracestate":${JSON.stringify(header.tracestate)}`;
  if (header.delay !== undefined) json += `,"delay":${JSON.stringify(header.delay)}`;
  return encodeFrameJson(`${json}}`, event);
}

/**
 * Parse and validate a request payload. Errors are EdgeFCErrors carrying the request ID when it
 * could be read, so the gateway can address its error reply (§4.1).
 */
export function decodeRequest(payload: Buffer): DecodedRequest {
  const { header, body } = decodeFrame(payload);
  const id = header['id'];
  assertRequestId(id);
  try {
    return validateHeader(id, header, body);
  } catch (error) {
    if (error instanceof EdgeFCError && error.requestId === undefined) {
      throw new InvalidArgumentError(error.message, { requestId: id, cause: error.cause });
    }
    throw error;
  }
}

function validateHeader(requestId: string, header: Record<string, unknown>, body: Buffer): DecodedRequest {
  const type = header['type'];
  if (!isInvocationType(type)) {
    throw new InvalidArgumentError(`invocation type must be "Sync" or "Async" (got ${JSON.stringify(type) ?? 'nothing'}) (§3.5)`);
  }
  const timeout = header['timeout'];
  let timeoutMs: number | undefined;
  if (timeout !== undefined) {
    assertTimeout(timeout);
    timeoutMs = timeout;
  } else if (type === InvocationType.Sync) {
    throw new InvalidArgumentError('a Sync request must carry a timeout (§3.2)');
  }
  const ctx = header['ctx'];
  let invokerContext: InvokerContext | undefined;
  if (ctx !== undefined) {
    if (typeof ctx !== 'string') throw new InvalidArgumentError('invokerContext must be a base64 string (§5.1)');
    invokerContext = decodeInvokerContext(ctx);
  }
  const qualifier = header['qualifier'] ?? DEFAULT_QUALIFIER;
  assertQualifier(qualifier);
  assertPayloadSize(type, body.length);
  const log = header['log'] ?? LogType.None;
  if (log !== LogType.None && log !== LogType.Tail) throw new InvalidArgumentError('log must be "None" or "Tail" (§3.6)');
  // §3.7.2: a malformed trace context is dropped, never an error.
  const trace = readTraceContext(header['traceparent'], header['tracestate']);
  const delay = header['delay'];
  if (delay !== undefined) assertAsyncDelay(delay, type);
  return {
    requestId,
    invocationType: type,
    timeoutMs,
    invokerContext,
    qualifier,
    event: body,
    ...(log === LogType.Tail ? { logType: log } : {}),
    ...trace,
    ...(delay === undefined || delay === 0 ? {} : { delaySeconds: delay }),
  };
}
