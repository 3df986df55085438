/**
 * How aedes 1.2 orders a QoS 1 PUBACK against delivery, and why the in-process gateway link takes
 * messages through the broker's PublishInterceptor rather than a subscription (docs/protocol.md
 * §10.1: an Async call is acknowledged only once it is on disk).
 */
import { describe, expect } from 'vitest';
import { test } from '../fixtures/brokers.js';

describe('QoS 1 PUBACK order in the embedded broker', () => {
  test('aedes acknowledges before it delivers: an in-process subscriber cannot hold the PUBACK', async ({ aedesBroker, connectClient }) => {
    const { aedes } = aedesBroker.embedded;
    const held: (() => void)[] = [];
    const deliver = (_packet: unknown, callback: () => void): void => {
      held.push(callback); // never released before the publisher has its PUBACK
    };
    await new Promise<void>((resolve) => aedes.subscribe('order/sub', deliver, resolve));
    try {
      const publisher = await connectClient(aedesBroker.url);
      // Resolves on the PUBACK. If aedes waited for its subscribers, this would never settle.
      await publisher.publishAsync('order/sub', 'x', { qos: 1 });
      await expect.poll(() => held.length).toBe(1);
    } finally {
      for (const release of held) release();
      await new Promise<void>((resolve) => aedes.unsubscribe('order/sub', deliver, resolve));
    }
  });

  test('the interceptor holds the PUBACK, and delivery, until it releases the message', async ({ aedesBroker, connectClient }) => {
    const events: string[] = [];
    let release: (() => void) | undefined;
    aedesBroker.embedded.interceptPublishes((packet, done) => {
      if (packet.topic !== 'order/held') {
        done(null);
        return;
      }
      events.push('intercepted');
      release = () => {
        events.push('released');
        done(null);
      };
    });
    try {
      const subscriber = await connectClient(aedesBroker.url);
      await subscriber.subscribeAsync('order/held', { qos: 1 });
      subscriber.on('message', () => events.push('delivered'));
      const publisher = await connectClient(aedesBroker.url);
      const acknowledged = publisher.publishAsync('order/held', 'x', { qos: 1 }).then(() => events.push('puback'));
      await expect.poll(() => events).toEqual(['intercepted']);
      // A full QoS 1 round trip of another client through the same broker: time enough for a
      // PUBACK that was not held to arrive (aedes writes it in the same turn it handles the packet).
      const other = await connectClient(aedesBroker.url);
      await other.publishAsync('order/other', 'y', { qos: 1 });
      expect(events).toEqual(['intercepted']);
      release?.();
      await acknowledged;
      await expect.poll(() => events.slice().sort()).toEqual(['delivered', 'intercepted', 'puback', 'released']);
      expect(events.slice(0, 2)).toEqual(['intercepted', 'released']);
    } finally {
      aedesBroker.embedded.interceptPublishes(undefined);
    }
  });

  test('clients still may not publish into $SYS', async ({ aedesBroker, connectClient }) => {
    const publisher = await connectClient(aedesBroker.url, { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => publisher.once('close', () => resolve()));
    publisher.publish('$SYS/x', 'y', { qos: 1 });
    await closed; // aedes drops a client whose PUBLISH is refused (MQTT 3.1.1 has no negative PUBACK)
  });
});
