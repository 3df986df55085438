import { describe, expect, it } from 'vitest';
import { codeOf } from '../fixtures/error-code.js';
import { decodeInvokerContext, encodeInvokerContext } from '../../src/protocol/invoker-context.js';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');


describe('invokerContext (protocol §5)', () => {
  it('round-trips an object', () => {
    const value = { custom: { data: 'Custom context from Invoker' }, n: 1 };
    expect(decodeInvokerContext(encodeInvokerContext(value))).toEqual(value);
  });

  it('accepts all padding forms', () => {
    expect(decodeInvokerContext(b64('{}'))).toEqual({});
    expect(decodeInvokerContext(b64('{"a":1}'))).toEqual({ a: 1 });
    expect(decodeInvokerContext(b64('{"ab":1}'))).toEqual({ ab: 1 });
  });

  // Node's decoder accepts every one of these silently; the protocol does not.
  it.each([
    ['trailing garbage', `${b64('{}')}!!!`],
    ['embedded whitespace', `${b64('{"a":1}').slice(0, 4)} ${b64('{"a":1}').slice(4)}`],
    ['a newline', `${b64('{"a":1}')}\n`],
    ['missing padding', b64('{"a":1}').replace(/=+$/, '')],
    ['url-safe alphabet', b64('{"a":"??>"}').replace(/\+/g, '-').replace(/\//g, '_')],
    ['non-canonical padding bits', 'e30='.replace('0', '1')],
    ['an empty string', ''],
    ['padding in the middle', 'e30=e30='],
  ])('refuses %s', (_name, value) => {
    expect(codeOf(() => decodeInvokerContext(value))).toBe('InvalidArgument');
  });

  it.each([
    ['an array', '[1,2]'],
    ['a string', '"text"'],
    ['null', 'null'],
    ['a number', '42'],
    ['not JSON', 'hello'],
  ])('refuses JSON that is %s', (_name, text) => {
    expect(codeOf(() => decodeInvokerContext(b64(text)))).toBe('InvalidArgument');
  });

  it('refuses invalid UTF-8', () => {
    expect(codeOf(() => decodeInvokerContext(Buffer.from([0x7b, 0xff, 0x7d]).toString('base64')))).toBe('InvalidArgument');
  });

  it('enforces the 4 KiB cap on the decoded JSON', () => {
    const fits = { pad: 'x'.repeat(4096 - '{"pad":""}'.length) };
    expect(decodeInvokerContext(encodeInvokerContext(fits))).toEqual(fits);
    const over = { pad: 'x'.repeat(4097 - '{"pad":""}'.length) };
    expect(codeOf(() => decodeInvokerContext(encodeInvokerContext(over)))).toBe('InvalidArgument');
  });
});
