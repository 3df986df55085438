/**
 * The channel between the gateway and a Node.js function process (docs/runtime-node.md §1.2):
 * the record codec on its own (gateway/runtime/node/child/channel-codec.ts), and what a function
 * that writes to the channel itself can and cannot do to the gateway.
 */
import { describe, expect, test as plainTest } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { ChannelCodecError, MessageDecoder, encodeMessage } from '../../gateway/runtime/node/child/channel-codec.js';
import { invocation, rejectionOf, test } from './harness.js';

const record = (message: object): Buffer => Buffer.concat(encodeMessage(message));

describe('channel records', () => {
  plainTest('messages with and without bytes come back as sent, bytes small or large', () => {
    const small = Buffer.from([0, 255, 10, 13]);
    const large = Buffer.alloc(100_000, 7);
    const messages = [
      { type: 'ping', nonce: 1 },
      { type: 'invoke', callId: 2, requestId: 'r-ü', event: small, invokerContext: { a: [1, 'x'] }, qualifier: 'LATEST' },
      { type: 'result', callId: 3, payload: large, binary: true },
      { type: 'result', callId: 4, payload: Buffer.alloc(0), binary: false },
      { type: 'log', time: 5, requestId: 'r', level: 'info', message: 'line\nwith "quotes"' },
    ];
    const decoded = new MessageDecoder().push(Buffer.concat(messages.map(record)));
    expect(decoded).toEqual(messages);
    expect(Buffer.isBuffer((decoded[1] as { event: unknown }).event)).toBe(true);
  });

  plainTest('a stream cut anywhere decodes to the same messages, in order', () => {
    const messages = Array.from({ length: 5 }, (_, i) => ({ type: 'result', callId: i, payload: Buffer.alloc(i * 3000, i), binary: true }));
    const stream = Buffer.concat(messages.map(record));
    for (const size of [1, 7, 8, 9, 4096, 65536]) {
      const decoder = new MessageDecoder();
      const out: unknown[] = [];
      for (let at = 0; at < stream.length; at += size) out.push(...decoder.push(stream.subarray(at, at + size)));
      expect(out, `chunks of ${size}`).toEqual(messages);
    }
  });

  plainTest('a length over the limit is refused at its prefix, before the body is read', () => {
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32LE(1025, 0);
    const decoder = new MessageDecoder(1024);
    expect(() => decoder.push(prefix)).toThrow(ChannelCodecError);
    expect(() => decoder.push(prefix)).toThrow(/already malformed/);
  });

  plainTest('malformed records: a header that does not fit, is not JSON, not an object, or names no bytes field', () => {
    const raw = (header: string, declared?: number): Buffer => {
      const bytes = Buffer.from(header);
      const prefix = Buffer.alloc(8);
      prefix.writeUInt32LE(4 + bytes.length, 0);
      prefix.writeUInt32LE(declared ?? bytes.length, 4);
      return Buffer.concat([prefix, bytes]);
    };
    for (const [stream, why] of [
      [raw('{}', 100), /does not fit/],
      [raw('{nope'), /not JSON/],
      [raw('[1,2]'), /not a JSON object/],
      [raw('{"$bytes":7}'), /no valid bytes field/],
      [raw('{"$bytes":"__proto__"}'), /no valid bytes field/],
    ] as const) {
      expect(() => new MessageDecoder().push(stream)).toThrow(why);
    }
  });

  plainTest('a message with two bytes fields is refused when it is written', () => {
    expect(() => encodeMessage({ a: Buffer.alloc(1), b: Buffer.alloc(1) })).toThrow(ChannelCodecError);
  });
});

describe('a function writing to the channel itself', () => {
  for (const kind of ['huge', 'garbage']) {
    test(`a ${kind} record → its call fails with ProtocolViolation; the next call gets a new instance`, async ({ harness }) => {
      const pool = harness.pool({ handler: 'index.forgeChannel' });
      const err = await rejectionOf(pool.invoke(invocation({ payload: kind })));
      expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
      expect(err['errorType']).toBe('ProtocolViolation');
      // Not FunctionTimeout: the record was refused as it arrived, not when the call's time ran out.
      await rejectionOf(pool.invoke(invocation({ payload: kind })));
      expect(harness.pids).toHaveLength(2);
    });
  }

  test('function code has no Node IPC channel (process.send)', async ({ harness }) => {
    const result = await harness.pool({ handler: 'index.ipc' }).invoke(invocation());
    expect(JSON.parse(result.payload.toString())).toEqual({ send: 'undefined', connected: false });
  });
});
