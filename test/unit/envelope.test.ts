import { describe, expect, it } from 'vitest';
import { codeOf } from '../fixtures/error-code.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/envelope.js';
import { decodeReply, encodeAcceptedReply, encodeErrorReply, encodeOkReply } from '../../src/protocol/reply.js';
import { decodeRequest, encodeRequest } from '../../src/protocol/request.js';
import { encodeInvokerContext } from '../../src/protocol/invoker-context.js';
import { FunctionTimeoutError } from '../../src/errors.js';


describe('envelope framing (protocol §3.1)', () => {
  it('round-trips header and raw body bytes without encoding the body', () => {
    const body = Buffer.from([0, 1, 2, 255, 254]);
    const frame = encodeFrame({ id: 'a', type: 'Sync' }, body);
    expect(frame.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xc1, 1]));
    expect(frame.subarray(frame.length - body.length)).toEqual(body);
    const decoded = decodeFrame(frame);
    expect(decoded.header).toEqual({ id: 'a', type: 'Sync' });
    expect(decoded.body).toEqual(body);
  });

  it('counts the header in bytes, not characters (non-ASCII header)', () => {
    const frame = encodeFrame({ id: 'ä€😀' }, Buffer.from('b'));
    expect(frame.readUInt16BE(3)).toBe(Buffer.byteLength(JSON.stringify({ id: 'ä€😀' })));
    expect(decodeFrame(frame)).toEqual({ header: { id: 'ä€😀' }, body: Buffer.from('b') });
  });

  it('reply headers built as text are the bytes encodeFrame makes of the same object', () => {
    const body = Buffer.from('result');
    expect(encodeOkReply('r_1', body, false)).toEqual(encodeFrame({ id: 'r_1', status: 'ok' }, body));
    expect(encodeOkReply('r_1', body, true)).toEqual(encodeFrame({ id: 'r_1', status: 'ok', binary: true }, body));
    expect(encodeAcceptedReply('r-2')).toEqual(encodeFrame({ id: 'r-2', status: 'accepted' }, undefined));
    expect(encodeOkReply('"q\\', Buffer.alloc(0), false)).toEqual(encodeFrame({ id: '"q\\', status: 'ok' }, Buffer.alloc(0)));
  });

  it('request headers built as text are the bytes encodeFrame makes of the same object', () => {
    const event = Buffer.from('e');
    for (const header of [
      { id: 'a', type: 'Sync', timeout: 500 },
      { id: 'a', type: 'Async' },
      { id: 'a', type: 'Sync', timeout: 1, ctx: 'eyJ9', qualifier: 'prod' },
    ] as const) {
      expect(encodeRequest(header, event)).toEqual(encodeFrame(header, event));
    }
  });

  it.each([
    ['too short', Buffer.from([0xef, 0xc1])],
    ['wrong magic', Buffer.from('hello world')],
    ['unknown version', Buffer.from([0xef, 0xc1, 9, 0, 2, 0x7b, 0x7d])],
    ['header overruns payload', Buffer.from([0xef, 0xc1, 1, 0, 50, 0x7b, 0x7d])],
    ['header not JSON', Buffer.from([0xef, 0xc1, 1, 0, 2, 0x7b, 0x7b])],
    ['header not an object', Buffer.from([0xef, 0xc1, 1, 0, 2, 0x5b, 0x5d])],
  ])('refuses %s with ProtocolError', (_name, payload) => {
    expect(codeOf(() => decodeFrame(payload))).toBe('ProtocolError');
  });
});

describe('requests (protocol §3)', () => {
  const ctx = encodeInvokerContext({ custom: { data: 'x' } });

  it('decodes a full Sync request', () => {
    const frame = encodeRequest({ id: 'req_1', type: 'Sync', timeout: 500, ctx, qualifier: 'prod' }, Buffer.from('event'));
    expect(decodeRequest(frame)).toEqual({
      requestId: 'req_1',
      invocationType: 'Sync',
      timeoutMs: 500,
      invokerContext: { custom: { data: 'x' } },
      qualifier: 'prod',
      event: Buffer.from('event'),
    });
  });

  it('defaults the qualifier and allows Async without a timeout', () => {
    const decoded = decodeRequest(encodeRequest({ id: 'r', type: 'Async' }, undefined));
    expect(decoded).toMatchObject({ invocationType: 'Async', timeoutMs: undefined, qualifier: 'LATEST' });
    expect(decoded.event.length).toBe(0);
  });

  it('ignores unknown header fields (§3.2)', () => {
    const frame = encodeFrame({ id: 'r', type: 'Sync', timeout: 10, future: true }, undefined);
    expect(decodeRequest(frame).requestId).toBe('r');
  });

  it.each([
    ['a bad invocation type', { id: 'r', type: 'Later', timeout: 10 }],
    ['a Sync call without timeout', { id: 'r', type: 'Sync' }],
    ['a zero timeout', { id: 'r', type: 'Sync', timeout: 0 }],
    ['a fractional timeout', { id: 'r', type: 'Sync', timeout: 1.5 }],
    ['a timeout over 24 h', { id: 'r', type: 'Sync', timeout: 86_400_001 }],
    ['a non-string invokerContext', { id: 'r', type: 'Sync', timeout: 10, ctx: 5 }],
    ['a garbage invokerContext', { id: 'r', type: 'Sync', timeout: 10, ctx: 'eyJ9!!!' }],
    ['a bad qualifier', { id: 'r', type: 'Sync', timeout: 10, qualifier: 'a/b' }],
  ])('refuses %s with InvalidArgument carrying the request ID', (_name, header) => {
    try {
      decodeRequest(encodeFrame(header, undefined));
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'InvalidArgument', requestId: 'r' });
    }
  });

  it.each([
    ['missing', {}],
    ['with a slash', { id: 'a/b' }],
    ['too long', { id: 'x'.repeat(65) }],
  ])('refuses a request ID that is %s', (_name, header) => {
    expect(codeOf(() => decodeRequest(encodeFrame({ type: 'Sync', timeout: 5, ...header }, undefined)))).toBe('InvalidArgument');
  });

  it('enforces the payload caps per invocation type (§7.2)', () => {
    const asyncOver = encodeRequest({ id: 'r', type: 'Async' }, Buffer.alloc(128 * 1024 + 1));
    expect(codeOf(() => decodeRequest(asyncOver))).toBe('InvalidArgument');
    const syncOk = encodeRequest({ id: 'r', type: 'Sync', timeout: 5 }, Buffer.alloc(128 * 1024 + 1));
    expect(decodeRequest(syncOk).event.length).toBe(128 * 1024 + 1);
    const syncOver = encodeRequest({ id: 'r', type: 'Sync', timeout: 5 }, Buffer.alloc(6 * 1024 * 1024 + 1));
    expect(codeOf(() => decodeRequest(syncOver))).toBe('InvalidArgument');
  });
});

describe('replies (protocol §4)', () => {
  it('round-trips ok (text and binary), accepted and error replies', () => {
    expect(decodeReply(encodeOkReply('a', Buffer.from('hi'), false))).toEqual({
      requestId: 'a',
      status: 'ok',
      payload: Buffer.from('hi'),
      binary: false,
    });
    expect(decodeReply(encodeOkReply('b', Buffer.from([1]), true))).toMatchObject({ binary: true });
    expect(decodeReply(encodeAcceptedReply('c'))).toEqual({ requestId: 'c', status: 'accepted' });
    const error = decodeReply(encodeErrorReply('d', new FunctionTimeoutError('slow').toWire()));
    expect(error.status).toBe('error');
    if (error.status === 'error') expect(error.error).toMatchObject({ code: 'FunctionTimeout', message: 'slow', requestId: 'd' });
  });

  it('refuses an unknown status or a missing ID', () => {
    expect(codeOf(() => decodeReply(encodeFrame({ id: 'a', status: 'maybe' }, undefined)))).toBe('ProtocolError');
    expect(codeOf(() => decodeReply(encodeFrame({ status: 'ok' }, undefined)))).toBe('ProtocolError');
  });
});
