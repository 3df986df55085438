import { afterEach, describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest } from '../../src/protocol/request.js';
import {
  ambientTraceContext,
  formatTraceparent,
  newTraceContext,
  parseTraceparent,
  readTraceContext,
  setAmbientTraceSource,
  traceIdOf,
} from '../../src/protocol/trace-context.js';

// The W3C spec's own example.
const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('traceparent parse and format (docs/protocol.md §3.7.1)', () => {
  it('parses the W3C example into its four fields and formats it back', () => {
    const parsed = parseTraceparent(VALID);
    expect(parsed).toEqual({ version: '00', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', flags: '01' });
    expect(formatTraceparent(parsed!)).toBe(VALID);
    expect(formatTraceparent({ traceId: parsed!.traceId, parentId: parsed!.parentId })).toBe(VALID);
  });

  it.each([
    ['upper-case hex', VALID.toUpperCase()],
    ['an all-zero trace ID', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['an all-zero parent ID', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['version ff', VALID.replace(/^00/, 'ff')],
    ['a short trace ID', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['a long parent ID', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b77-01'],
    ['version 00 with a trailing field', `${VALID}-extra`],
    ['a missing field', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7'],
    ['non-hex characters', '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01'],
    ['leading whitespace', ` ${VALID}`],
    ['a number', 42],
    ['the empty string', ''],
  ])('refuses %s', (_label, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
    expect(readTraceContext(value, 'a=b')).toBeUndefined();
  });

  it('reads a later version as its first four fields and passes it on as version 00 (W3C §4.3)', () => {
    expect(readTraceContext(`cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-later`, undefined)).toEqual({ traceparent: VALID });
  });

  it('keeps a valid tracestate and drops an invalid or empty one without dropping the traceparent', () => {
    expect(readTraceContext(VALID, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toEqual({ traceparent: VALID, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' });
    expect(readTraceContext(VALID, 'a=\u0001')).toEqual({ traceparent: VALID });
    expect(readTraceContext(VALID, 'x'.repeat(513))).toEqual({ traceparent: VALID });
    expect(readTraceContext(VALID, '')).toEqual({ traceparent: VALID });
    expect(readTraceContext(VALID, 7)).toEqual({ traceparent: VALID });
  });

  it('a new trace is valid, sampled and different every time', () => {
    const a = newTraceContext();
    const b = newTraceContext();
    expect(parseTraceparent(a.traceparent)).toMatchObject({ version: '00', flags: '01' });
    expect(traceIdOf(a.traceparent)).not.toBe(traceIdOf(b.traceparent));
  });
});

describe('trace context in the request header (docs/protocol.md §3.2, §3.7.2)', () => {
  const base = { id: 'r1', type: 'Sync', timeout: 1000 } as const;

  it('round-trips traceparent and tracestate', () => {
    const decoded = decodeRequest(encodeRequest({ ...base, traceparent: VALID, tracestate: 'a=b' }, Buffer.from('x')));
    expect(decoded).toMatchObject({ traceparent: VALID, tracestate: 'a=b' });
  });

  it('drops a malformed traceparent (and its tracestate) instead of refusing the call', () => {
    const decoded = decodeRequest(encodeRequest({ ...base, traceparent: 'not-a-trace', tracestate: 'a=b' }, Buffer.from('x')));
    expect(decoded.requestId).toBe('r1');
    expect(decoded.traceparent).toBeUndefined();
    expect(decoded.tracestate).toBeUndefined();
  });

  it('a request without them decodes without them', () => {
    const decoded = decodeRequest(encodeRequest(base, Buffer.alloc(0)));
    expect('traceparent' in decoded).toBe(false);
  });
});

describe('ambient trace source (§3.7.4)', () => {
  afterEach(() => setAmbientTraceSource(undefined));

  it('is undefined until a runtime registers one, then asks it each time', () => {
    expect(ambientTraceContext()).toBeUndefined();
    let current: { traceparent: string } | undefined = { traceparent: VALID };
    setAmbientTraceSource(() => current);
    expect(ambientTraceContext()).toEqual({ traceparent: VALID });
    current = undefined;
    expect(ambientTraceContext()).toBeUndefined();
  });
});
