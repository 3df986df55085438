import { createServer, type Server } from 'node:net';
import { describe, expect } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { startEmbeddedBroker, type BrokerEvent } from '../../gateway/broker/embedded-broker.js';
import { test } from '../fixtures/brokers.js';

describe('startEmbeddedBroker', () => {
  test('port 0 picks a free port and reports it in port and url', async () => {
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
    try {
      expect(broker.port).toBeGreaterThan(0);
      expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
      const address = broker.server.address();
      expect(typeof address === 'object' && address?.port).toBe(broker.port);
    } finally {
      await broker.close();
    }
  });

  test('routes publish to subscribe (QoS 0 and 1)', async ({ aedesBroker, connectClient }) => {
    const subscriber = await connectClient(aedesBroker.url);
    const publisher = await connectClient(aedesBroker.url);
    await subscriber.subscribeAsync('t/#', { qos: 1 });
    const received: string[] = [];
    subscriber.on('message', (topic, payload) => received.push(`${topic}=${payload.toString()}`));
    await publisher.publishAsync('t/a', 'zero', { qos: 0 });
    await publisher.publishAsync('t/b', 'one', { qos: 1 });
    await expect.poll(() => received).toEqual(['t/a=zero', 't/b=one']);
  });

  // QoS 0 shedding (qos0-shedding.ts) must not drop a message only because it is big.
  test('a QoS 0 message larger than the socket high-water mark is delivered', async ({ aedesBroker, connectClient }) => {
    const subscriber = await connectClient(aedesBroker.url);
    const publisher = await connectClient(aedesBroker.url);
    await subscriber.subscribeAsync('big', { qos: 0 });
    const received = new Promise<Buffer>((resolve) => subscriber.once('message', (_t, payload) => resolve(payload)));
    await publisher.publishAsync('big', Buffer.alloc(256 * 1024, 7), { qos: 0 });
    expect((await received).length).toBe(256 * 1024);
    expect(aedesBroker.embedded.stats().droppedQos0).toBe(0);
  });

  test('close() disconnects clients, frees the port, and is idempotent', async ({ connectClient }) => {
    const events: BrokerEvent['type'][] = [];
    const broker = await startEmbeddedBroker({ port: 0, log: (event) => events.push(event.type) });
    const client = await connectClient(broker.url, { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));

    const first = broker.close();
    expect(broker.close()).toBe(first);
    await Promise.all([first, broker.close()]);
    await closed;
    expect(broker.aedes.closed).toBe(true);
    expect(broker.server.listening).toBe(false);
    expect(events).toEqual(expect.arrayContaining(['clientConnected', 'clientDisconnected']));

    // The port is free again: we can listen on it ourselves.
    const again = await startEmbeddedBroker({ port: broker.port });
    await again.close();
  });

  test('close() also drops sockets that never sent CONNECT', async () => {
    const broker = await startEmbeddedBroker({ port: 0 });
    const { connect } = await import('node:net');
    const socket = connect({ port: broker.port, host: '127.0.0.1' });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await broker.close();
    await socketClosed;
  });

  test('a port in use rejects with ServiceUnavailable naming host:port and EADDRINUSE', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      const error: unknown = await startEmbeddedBroker({ host: '127.0.0.1', port: address.port }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: ErrorCode.ServiceUnavailable,
        name: 'ServiceUnavailableError',
        cause: { code: 'EADDRINUSE' },
      });
      expect((error as Error).message).toContain(`cannot listen on 127.0.0.1:${address.port}: EADDRINUSE`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  test('an address we cannot bind rejects with ServiceUnavailable (EADDRNOTAVAIL)', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a local interface.
    const error: unknown = await startEmbeddedBroker({ host: '192.0.2.1', port: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.ServiceUnavailable, cause: { code: 'EADDRNOTAVAIL' } });
    expect((error as Error).message).toMatch(/^cannot listen on 192\.0\.2\.1:0: EADDRNOTAVAIL/);
  });

  test('an unspecified listen address gives a loopback url', async () => {
    const broker = await startEmbeddedBroker({ host: '0.0.0.0', port: 0 });
    try {
      expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    } finally {
      await broker.close();
    }
  });

  // aedes 1.2 implements MQTT 3.1.1 only: an MQTT 5 CONNECT gets CONNACK return code 1
  // ("unacceptable protocol version"). connectMqtt reports it at once, not after the timeout.
  test('refuses MQTT 5 clients; connectMqtt fails fast with ServiceUnavailable', async ({ aedesBroker, connectClient }) => {
    const started = Date.now();
    const error: unknown = await connectClient(aedesBroker.url, { protocolVersion: 5, connectTimeoutMs: 5_000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: ErrorCode.ServiceUnavailable });
    expect((error as Error).message).toMatch(/refused the connection/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
