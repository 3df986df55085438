import type { Socket } from 'node:net';
import { connect as mqttConnect } from 'mqtt';
import { describe, expect } from 'vitest';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { ErrorCode } from '../../src/errors.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { enableTcpNoDelay } from '../../src/mqtt/tcp-nodelay.js';
import { brokerKinds, test } from '../fixtures/brokers.js';
import { noDelayRequested } from '../fixtures/socket-options.js';

describe('TCP_NODELAY', () => {
  test('connectMqtt sets it on the client socket, and again after a reconnect', async ({ aedesBroker, connectClient }) => {
    const client = await connectClient(aedesBroker.url, { reconnectPeriod: 50 });
    const first = client.stream as Socket;
    expect(noDelayRequested(first)).toBe(true);

    first.destroy(); // drop the connection from the client side; MQTT.js reconnects
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    const second = client.stream as Socket;
    expect(second).not.toBe(first);
    expect(noDelayRequested(second)).toBe(true);
  });

  test('enableTcpNoDelay works on a client made by mqtt.connect()', async ({ aedesBroker }) => {
    const client = mqttConnect(aedesBroker.url, { reconnectPeriod: 0 });
    try {
      enableTcpNoDelay(client);
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      expect(noDelayRequested(client.stream as Socket)).toBe(true);
    } finally {
      await client.endAsync(true);
    }
  });

  test('the embedded broker sets it on every accepted socket', async ({ aedesBroker, connectClient }) => {
    const accepted: Socket[] = [];
    // Our connection handler was registered first, so it has run when this one sees the socket.
    aedesBroker.embedded.server.on('connection', (socket: Socket) => accepted.push(socket));
    await connectClient(aedesBroker.url);
    await connectClient(aedesBroker.url);
    expect(accepted).toHaveLength(2);
    for (const socket of accepted) expect(noDelayRequested(socket)).toBe(true);
  });

  describe.each(brokerKinds)('on %s', (kind) => {
    test.override({ brokerKind: kind });

    // The number that matters: with Nagle anywhere on the path this is ~40-88 ms per call.
    test('sequential QoS 1 request/reply p50 < 5 ms', async ({ broker, connectClient }) => {
      expect(broker.kind).toBe(kind);
      const requester = await connectClient(broker.url);
      const responder = await connectClient(broker.url);
      await responder.subscribeAsync('rr/request', { qos: 1 });
      responder.on('message', (_topic, payload) => {
        responder.publish('rr/reply', payload, { qos: 1 });
      });
      await requester.subscribeAsync('rr/reply', { qos: 1 });
      let waiting: (() => void) | undefined;
      requester.on('message', () => waiting?.());

      const samples: number[] = [];
      for (let i = 0; i < 60; i++) {
        const started = performance.now();
        const replied = new Promise<void>((resolve) => (waiting = resolve));
        await requester.publishAsync('rr/request', String(i), { qos: 1 });
        await replied;
        samples.push(performance.now() - started);
      }
      const p50 = samples.slice(10).sort((a, b) => a - b)[Math.floor((samples.length - 10) / 2)] ?? Infinity;
      expect(p50).toBeLessThan(5);
    });
  });
});

describe('connectMqtt', () => {
  test('an unreachable broker rejects with ServiceUnavailable within connectTimeoutMs', async () => {
    const port = await freeLoopbackPort(); // nothing listens there
    const started = Date.now();
    const error: unknown = await connectMqtt(`mqtt://127.0.0.1:${port}`, {
      connectTimeoutMs: 400,
      reconnectPeriod: 50,
    }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ code: ErrorCode.ServiceUnavailable, cause: { code: 'ECONNREFUSED' } });
    expect((error as Error).message).toMatch(/unreachable: ECONNREFUSED .*gave up after 400 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(2_000);
  });

  test('a broker that appears within the budget is reached (first connect retries)', async ({ connectClient }) => {
    const port = await freeLoopbackPort();
    const { startEmbeddedBroker } = await import('../../gateway/broker/embedded-broker.js');
    const connecting = connectClient(`mqtt://127.0.0.1:${port}`, { connectTimeoutMs: 5_000, reconnectPeriod: 50 });
    const broker = await startEmbeddedBroker({ port });
    try {
      const client = await connecting;
      expect(client.connected).toBe(true);
    } finally {
      await broker.close();
    }
  });
});
