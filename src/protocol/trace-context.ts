/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as the request header carries it
 * (docs/protocol.md §3.7): `traceparent` is `version-traceid-parentid-flags` in lowercase hex,
 * `tracestate` an opaque vendor list passed on unchanged.
 *
 * The ambient context is how an FCClient made inside a function continues the trace of the call
 * it runs in (§3.7.4): the runtime that runs handlers registers a source under a process-wide
 * symbol, and the client asks it. A symbol on globalThis, not a module variable, because a
 * function's `linkedge-core-sdk` may be another copy of this module than the runtime's.
 */
import { randomFillSync } from 'node:crypto';

export interface TraceContext {
  traceparent: string;
  /** Absent when the caller sent none. */
  tracestate?: string;
}

export interface ParsedTraceparent {
  version: string;
  traceId: string;
  parentId: string;
  flags: string;
}

// §3.7.1, W3C §3.2.2: version 00 is exactly 55 characters. A later version may append fields
// after the flags ("-..."), which a version-00 reader keeps the first four of.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^]*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_PARENT_ID = '0'.repeat(16);
/** W3C §3.3.1.5: at most 32 list members; 512 characters is the size a vendor must propagate. */
const MAX_TRACESTATE_CHARS = 512;
const TRACESTATE = /^[\x20-\x7e]*$/;

/** The fields of a valid traceparent; undefined for anything else (W3C §3.2.2). */
export function parseTraceparent(value: unknown): ParsedTraceparent | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value);
  if (match === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  // Version ff is invalid; version 00 has nothing after the flags.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_PARENT_ID) return undefined;
  return { version, traceId, parentId, flags };
}

/** Version 00 text of a traceparent. */
export function formatTraceparent(fields: { traceId: string; parentId: string; flags?: string }): string {
  return `00-${fields.traceId}-${fields.parentId}-${fields.flags ?? '01'}`;
}

/** A tracestate is passed on only when it is printable ASCII of at most 512 characters. */
export function isValidTracestate(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_TRACESTATE_CHARS && TRACESTATE.test(value);
}

/**
 * §3.7.2: the context a request header carries, with what is malformed dropped: a bad
 * traceparent drops both fields (a tracestate means nothing without it), a bad tracestate only
 * itself. Never an error: tracing must not fail a call.
 */
export function readTraceContext(traceparent: unknown, tracestate: unknown): TraceContext | undefined {
  const parsed = parseTraceparent(traceparent);
  if (parsed === undefined) return undefined;
  // A later version is read as version 00 and forwarded as such (W3C §4.3).
  const normalized = parsed.version === '00' ? (traceparent as string) : formatTraceparent(parsed);
  return isValidTracestate(tracestate) && tracestate !== '' ? { traceparent: normalized, tracestate } : { traceparent: normalized };
}

/**
 * Random bytes drawn from a pool refilled 4 KiB at a time (as nanoid does): one randomBytes call
 * per ID pair cost ~6 µs a call, the pool ~1.2 µs (measured here), on a sequential call of ~300 µs.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
      poolOffset = 0;
    }
    const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
    poolOffset += bytes;
    if (hex !== zero) return hex;
  }
}

/** A new trace: random trace ID and span ID, sampled. */
export function newTraceContext(): TraceContext {
  return { traceparent: formatTraceparent({ traceId: randomHex(16, ZERO_TRACE_ID), parentId: randomHex(8, ZERO_PARENT_ID) }) };
}

/** The trace ID of a valid traceparent, else undefined. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return parseTraceparent(traceparent)?.traceId;
}

const AMBIENT = Symbol.for('edgefc.ambientTraceContext');
type AmbientSource = () => TraceContext | undefined;

/**
 * Register where the code running now finds its call's trace context (a runtime's
 * AsyncLocalStorage). One source per process; the last registration wins.
 */
export function setAmbientTraceSource(source: AmbientSource | undefined): void {
  (globalThis as Record<symbol, unknown>)[AMBIENT] = source;
}

/** The trace context of the call whose code is running now, if a runtime registered a source. */
export function ambientTraceContext(): TraceContext | undefined {
  const source = (globalThis as Record<symbol, unknown>)[AMBIENT];
  return typeof source === 'function' ? (source as AmbientSource)() : undefined;
}
