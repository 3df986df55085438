/**
 * The fixed-header scanner of gateway/broker/packet-size-guard.ts, fed byte streams cut every
 * way a socket can cut them; and the guard on a real embedded broker.
 */
import type { Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import { startEmbeddedBroker, type BrokerEvent } from '../../gateway/broker/embedded-broker.js';
import { PacketSizeScanner } from '../../gateway/broker/packet-size-guard.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { publishQos0Packet, rawConnect, remainingLength } from '../fixtures/mqtt-raw.js';

/** A packet of `bodyBytes` body bytes (a PUBLISH's type byte; the scanner does not care). */
function packet(bodyBytes: number): Buffer {
  return Buffer.concat([Buffer.from([0x30]), remainingLength(bodyBytes), Buffer.alloc(bodyBytes, 7)]);
}

/** Feed `bytes` in pieces of the given sizes (the last piece takes the rest). */
function feed(scanner: PacketSizeScanner, bytes: Buffer, pieces: number[] = []): ReturnType<PacketSizeScanner['scan']> {
  let at = 0;
  for (const size of pieces) {
    const violation = scanner.scan(bytes.subarray(at, at + size));
    if (violation !== undefined) return violation;
    at += size;
  }
  return scanner.scan(bytes.subarray(at));
}

describe('PacketSizeScanner', () => {
  test('several packets in one chunk, a zero-length one among them', () => {
    const stream = Buffer.concat([packet(10), Buffer.from([0xc0, 0x00]), packet(90), packet(0)]);
    expect(new PacketSizeScanner(100).scan(stream)).toBeUndefined();
  });

  test('a header split after every byte, a body split across many chunks', () => {
    const stream = Buffer.concat([packet(300), packet(20_000), packet(5)]);
    // 20,000 takes 3 length bytes: 1 + 3 + 20,000 = 20,004, the largest packet here.
    expect(feed(new PacketSizeScanner(20_004), stream, Array.from({ length: 400 }, () => 1))).toBeUndefined();
    expect(feed(new PacketSizeScanner(20_004), stream, Array.from({ length: 50 }, () => 777))).toBeUndefined();
  });

  test('the limit counts the fixed header: exactly at it passes, one byte more is refused', () => {
    // 1 type byte + 2 length bytes (200 > 127) + 200 body bytes = 203.
    expect(new PacketSizeScanner(203).scan(packet(200))).toBeUndefined();
    expect(new PacketSizeScanner(202).scan(packet(200))).toEqual({ kind: 'oversize', packetBytes: 203 });
  });

  test('an oversized packet is refused at its header, before any body byte arrives', () => {
    const scanner = new PacketSizeScanner(1024);
    expect(scanner.scan(Buffer.concat([packet(10), packet(5)]))).toBeUndefined();
    const header = Buffer.concat([Buffer.from([0x30]), remainingLength(255 * 1024 * 1024)]);
    expect(feed(scanner, header, [1, 1, 1, 1])).toEqual({ kind: 'oversize', packetBytes: 1 + 4 + 255 * 1024 * 1024 });
    // It stays refused: nothing after a violation is scanned.
    expect(scanner.scan(packet(1))).toEqual({ kind: 'oversize', packetBytes: 1 + 4 + 255 * 1024 * 1024 });
  });

  // §2.2.3's table: the edges of 1, 2, 3 and 4 length bytes.
  test.each([
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [16_383, [0xff, 0x7f]],
    [16_384, [0x80, 0x80, 0x01]],
    [2_097_151, [0xff, 0xff, 0x7f]],
    [2_097_152, [0x80, 0x80, 0x80, 0x01]],
    [268_435_455, [0xff, 0xff, 0xff, 0x7f]],
  ])('Remaining Length %i is read from %j', (length, encoded) => {
    expect([...remainingLength(length)]).toEqual(encoded);
    const header = Buffer.from([0x30, ...encoded]);
    const announced = header.length + length;
    // One byte under what the header announces: refused with the exact size; at it: passes.
    expect(new PacketSizeScanner(announced - 1).scan(header)).toEqual({ kind: 'oversize', packetBytes: announced });
    expect(new PacketSizeScanner(announced).scan(header)).toBeUndefined();
  });

  test('a Remaining Length of 5 bytes is malformed, whole or split', () => {
    const malformed = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(new PacketSizeScanner(Number.MAX_SAFE_INTEGER).scan(malformed)).toEqual({ kind: 'malformedLength' });
    expect(feed(new PacketSizeScanner(Number.MAX_SAFE_INTEGER), Buffer.concat([packet(3), malformed]), [2, 3, 1, 1])).toEqual({
      kind: 'malformedLength',
    });
  });
});

describe('the embedded broker with a packet size limit', () => {
  test('closes a client that announces a larger packet, logs it, and serves others', async () => {
    const events: BrokerEvent[] = [];
    const broker = await startEmbeddedBroker({ port: 0, maxPacketBytes: 4096, log: (event) => events.push(event) });
    const sockets: Socket[] = [];
    const client = await connectMqtt(broker.url, { connectTimeoutMs: 3_000, reconnectPeriod: 0 });
    try {
      await client.subscribeAsync('size/#', { qos: 1 });
      const received: number[] = [];
      client.on('message', (_topic, payload) => received.push(payload.length));

      const big = await rawConnect(broker.port, 'too-big');
      sockets.push(big);
      big.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => big.once('close', () => resolve()));
      big.write(publishQos0Packet('size/small', Buffer.alloc(1000)));
      // Apart: a packet in the same socket read as the refused header is dropped with it.
      await expect.poll(() => received).toEqual([1000]);
      big.write(publishQos0Packet('size/big', Buffer.alloc(5000)));
      await closed;

      await client.publishAsync('size/after', Buffer.alloc(2000), { qos: 1 });
      await expect.poll(() => received).toEqual([1000, 2000]);
      const oversize = events.filter((event) => event.type === 'oversizePacket');
      expect(oversize).toEqual([
        { type: 'oversizePacket', clientId: 'too-big', remoteAddress: '127.0.0.1', packetBytes: 1 + 2 + 2 + 'size/big'.length + 5000, maxPacketBytes: 4096 },
      ]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await client.endAsync(true);
      await broker.close();
    }
  });
});
