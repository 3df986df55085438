/**
 * The pure pieces of the child runner and the log plumbing, tested in-process: callback and
 * promise semantics, result conversion, FC error fields, and line capping.
 */
import { describe, expect, it } from 'vitest';
import { runWithCallback } from '../../gateway/runtime/node/child/run-handler.js';
import type { Callback } from '../../gateway/runtime/node/child/run-handler.js';
import { convertResult } from '../../gateway/runtime/node/child/result.js';
import { toErrorFields } from '../../gateway/runtime/node/child/error-fields.js';
import { LineSplitter, TRUNCATION_MARKER, capLogLine } from '../../gateway/runtime/process/log-lines.js';

describe('runWithCallback', () => {
  it('first callback wins', async () => {
    const fn = (_e: unknown, _c: unknown, cb: Callback): void => {
      cb(null, 1);
      cb(null, 2);
    };
    expect(await runWithCallback(fn as never, [null, null], 3)).toEqual({ kind: 'ok', value: 1 });
  });

  it('callback error is handled, a throw or rejection is unhandled', async () => {
    const handled = (_e: unknown, _c: unknown, cb: Callback): void => cb(new Error('h'));
    expect((await runWithCallback(handled as never, [null, null], 3)).kind).toBe('handled');
    const thrown = (): never => {
      throw new Error('t');
    };
    expect((await runWithCallback(thrown, [null, null], 3)).kind).toBe('unhandled');
    const rejected = (): Promise<never> => Promise.reject(new Error('r'));
    expect((await runWithCallback(rejected, [null, null], 3)).kind).toBe('unhandled');
  });

  it('a promise resolving first wins over a later callback', async () => {
    const fn = (_e: unknown, _c: unknown, cb: Callback): Promise<string> => {
      setTimeout(() => cb(null, 'late'), 5);
      return Promise.resolve('promise');
    };
    expect(await runWithCallback(fn as never, [null, null], 3)).toEqual({ kind: 'ok', value: 'promise' });
  });

  it('a callback before the promise settles wins', async () => {
    const fn = async (_e: unknown, _c: unknown, cb: Callback): Promise<string> => {
      cb(null, 'callback');
      await new Promise((resolve) => setTimeout(resolve, 5));
      return 'promise';
    };
    expect(await runWithCallback(fn as never, [null, null], 3)).toEqual({ kind: 'ok', value: 'callback' });
  });

  it('undefined from a 3-parameter async handler waits for the callback; from a 2-parameter one it is the result', async () => {
    const three = (_e: unknown, _c: unknown, cb: Callback): Promise<void> => {
      setTimeout(() => cb(null, 'cb'), 5);
      return Promise.resolve();
    };
    expect(await runWithCallback(three as never, [null, null], 3)).toEqual({ kind: 'ok', value: 'cb' });
    const two = (_e: unknown, _c: unknown): Promise<void> => Promise.resolve();
    expect(await runWithCallback(two as never, [null, null], 3)).toEqual({ kind: 'ok', value: undefined });
  });
});

describe('convertResult', () => {
  it.each([
    ['string', 'abc', 'abc', false],
    ['number', 42, '42', false],
    ['boolean', false, 'false', false],
    ['object', { a: [1] }, '{"a":[1]}', false],
    ['array', [1, 'x'], '[1,"x"]', false],
    ['undefined', undefined, '', false],
    ['null', null, '', false],
    ['Buffer', Buffer.from('bin'), 'bin', true],
    ['Uint8Array', new Uint8Array([104, 105]), 'hi', true],
  ])('%s', (_name, value, text, binary) => {
    const result = convertResult(value);
    expect(result).toMatchObject({ ok: true, binary });
    if (result.ok) expect(result.payload.toString()).toBe(text);
  });

  it('a circular object or an oversize result is an error', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(convertResult(circular)).toMatchObject({ ok: false, error: { errorType: 'TypeError' } });
    expect(convertResult('x'.repeat(11), 10)).toMatchObject({ ok: false, error: { errorType: 'ResultTooLarge' } });
  });
});

describe('toErrorFields', () => {
  it('takes name, message and the frame lines of an Error', () => {
    const err = new TypeError('line one\nline two');
    const fields = toErrorFields(err);
    expect(fields.errorType).toBe('TypeError');
    expect(fields.errorMessage).toBe('line one\nline two');
    expect(fields.stackTrace?.[0]).toMatch(/^at /);
    expect(fields.stackTrace?.some((line) => line.includes('line two'))).toBe(false);
  });

  it('anything else: errorType Error, message String(value), no stack', () => {
    expect(toErrorFields('boom')).toEqual({ errorType: 'Error', errorMessage: 'boom' });
    expect(toErrorFields(42)).toEqual({ errorType: 'Error', errorMessage: '42' });
  });

  it('cuts a huge message, type and stack, so the error record stays bounded', () => {
    const err = new Error('m'.repeat(1_000_000));
    err.name = 'N'.repeat(1000);
    err.stack = `${err.name}: ${err.message}\n${Array.from({ length: 500 }, (_, i) => `at f${i} (${'x'.repeat(10_000)})`).join('\n')}`;
    const fields = toErrorFields(err);
    expect(fields.errorMessage).toBe(`${'m'.repeat(65_536)}… (934464 characters cut)`);
    expect(fields.errorType).toBe(`${'N'.repeat(256)}… (744 characters cut)`);
    expect(fields.stackTrace).toHaveLength(100);
    expect(fields.stackTrace?.every((line) => line.length < 4200)).toBe(true);
    expect(toErrorFields('s'.repeat(70_000)).errorMessage).toHaveLength(65_536 + '… (4464 characters cut)'.length);
  });
});

describe('LineSplitter', () => {
  it('splits across chunks, decodes UTF-8 split mid-character, strips CR', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    const euro = Buffer.from('€');
    splitter.push(Buffer.concat([Buffer.from('a\r\nb'), euro.subarray(0, 1)]));
    splitter.push(Buffer.concat([euro.subarray(1), Buffer.from('\nlast')]));
    splitter.end();
    expect(lines).toEqual(['a', 'b€', 'last']);
  });

  it('caps a long line at once and drops the rest of it', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), 10);
    splitter.push('0123456789abc');
    expect(lines).toEqual([`0123456789${TRUNCATION_MARKER}`]);
    splitter.push('def'.repeat(1000));
    splitter.push('\nnext\n');
    expect(lines).toEqual([`0123456789${TRUNCATION_MARKER}`, 'next']);
  });

  it('a 100 MB line in 1 MiB chunks is emitted once, cut, and holds at most the cap meanwhile', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    const piece = Buffer.alloc(1024 * 1024, 0x78);
    for (let i = 0; i < 100; i += 1) splitter.push(piece);
    splitter.push(Buffer.from('\nnext\n'));
    expect(lines).toEqual([`${'x'.repeat(8 * 1024)}${TRUNCATION_MARKER}`, 'next']);
  });

  it('cuts at a UTF-8 character boundary, also when the cap falls inside a character', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), 5);
    splitter.push('€€\n'); // 3 + 3 bytes: the second € does not fit in 5
    splitter.push('ab😀cd\n'); // 2 + 4 bytes: the emoji does not fit either
    splitter.push('abc€\n'); // 3 + 3
    splitter.push('abcd\n');
    expect(lines).toEqual([`€${TRUNCATION_MARKER}`, `ab${TRUNCATION_MARKER}`, `abc${TRUNCATION_MARKER}`, 'abcd']);
  });

  it('several lines in one chunk, empty lines and a last line without newline', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.push(Buffer.from('one\n\ntwo\nthr'));
    splitter.push(Buffer.from('ee'));
    splitter.end();
    expect(lines).toEqual(['one', '', 'two', 'three']);
  });

  it('capLogLine leaves short lines alone', () => {
    expect(capLogLine('short', 10)).toBe('short');
    expect(capLogLine('x'.repeat(12), 10)).toBe('x'.repeat(10) + TRUNCATION_MARKER);
  });
});
