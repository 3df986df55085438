/**
 * Write coalescing (src/mqtt/write-coalescing.ts): the packets an MQTT.js client writes during
 * one event-loop turn leave in one socket write at the end of the turn, on a real broker, and
 * none is lost — also when the client ends in the same turn. A plain client (the control)
 * writes each packet as it comes, which is what makes the first assertion able to fail.
 */
import type { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import { describe, expect } from 'vitest';
import { test } from '../fixtures/brokers.js';

/** Publish `count` QoS 0 messages, each from its own setImmediate callback of one loop turn; the socket's queued bytes after each. */
async function publishAcrossCallbacks(client: MqttClient, count: number): Promise<number[]> {
  const socket = client.stream as Socket;
  const queued: number[] = [];
  await new Promise<void>((resolve) => {
    for (let i = 0; i < count; i += 1) {
      setImmediate(() => {
        client.publish('coalesce/t', `message ${i}`, { qos: 0 });
        queued.push(socket.writableLength);
        // Scheduled during the check phase: runs in the next turn, after the coalesced write.
        if (i === count - 1) setImmediate(resolve);
      });
    }
  });
  return queued;
}

describe('write coalescing', () => {
  test('packets of separate callbacks of one turn wait in the socket and leave together; none is lost', async ({ aedesBroker, connectClient }) => {
    const subscriber = await connectClient(aedesBroker.url);
    const received: string[] = [];
    subscriber.on('message', (_topic, payload) => received.push(payload.toString()));
    await subscriber.subscribeAsync('coalesce/t', { qos: 0 });

    const coalescing = await connectClient(aedesBroker.url, { coalesceWrites: true });
    const queued = await publishAcrossCallbacks(coalescing, 10);
    // Each packet joined the ones before it: nothing was written until the turn ended.
    for (let i = 1; i < queued.length; i += 1) expect(queued[i]).toBeGreaterThan(queued[i - 1] ?? Infinity);
    expect((coalescing.stream as Socket).writableLength).toBe(0);

    const plain = await connectClient(aedesBroker.url);
    const plainQueued = await publishAcrossCallbacks(plain, 10);
    // Control: without coalescing each packet is written at the end of its own callback.
    expect(new Set(plainQueued).size).toBe(1);

    await expect.poll(() => received.length).toBe(20);
    expect(received.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => `message ${i}`));
  });

  test('a client that ends in the turn it published still sends what it published', async ({ broker, connectClient }) => {
    const subscriber = await connectClient(broker.url);
    const received: string[] = [];
    subscriber.on('message', (_topic, payload) => received.push(payload.toString()));
    await subscriber.subscribeAsync('coalesce/end', { qos: 1 });
    const client = await connectClient(broker.url, { coalesceWrites: true });
    await new Promise<void>((resolve) => {
      setImmediate(() => {
        client.publish('coalesce/end', 'last words', { qos: 0 });
        client.end(false, {}, () => resolve());
      });
    });
    await expect.poll(() => received).toEqual(['last words']);
  });
});
