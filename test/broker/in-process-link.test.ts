/**
 * The gateway's in-process link to its embedded aedes (gateway/transport/in-process-link.ts):
 * which messages it takes, the QoS 1 PUBACK held until the dispatcher's promise settles (§10.1),
 * replies delivered QoS 1, and nothing of the gateway's own publishing coming back (§11.3).
 */
import { describe, expect } from 'vitest';
import type { IPublishPacket } from 'mqtt';
import { silentLogger } from '../../gateway/logging/logger.js';
import type { InboundMessage } from '../../gateway/transport/inbound-message.js';
import { InProcessLink } from '../../gateway/transport/in-process-link.js';
import type { MessageHandler } from '../../gateway/transport/gateway-transport.js';
import { test } from '../fixtures/brokers.js';
import type { AedesTestBroker } from '../fixtures/brokers.js';

function openLink(broker: AedesTestBroker, onMessage: MessageHandler, triggerFilters: string[] = []): InProcessLink {
  return InProcessLink.open({ broker: broker.embedded, logger: silentLogger, triggerFilters, onMessage });
}

describe('InProcessLink', () => {
  test('takes what the MQTT link subscribes to, and only that', async ({ aedesBroker, connectClient }) => {
    const seen: string[] = [];
    const link = openLink(aedesBroker, (message) => {
      seen.push(message.topic);
      return undefined;
    }, ['sensors/+/temp', 'alarms/#']);
    try {
      const device = await connectClient(aedesBroker.url);
      const topics = [
        'edgefc/v1/invoke/c/S/f', // taken: edgefc/v1/invoke/+/+/+
        'edgefc/v1/invoke/c/S', // one level short
        'edgefc/v1/invoke/c/S/f/x', // one level too many
        'edgefc/v1/admin/c/list-functions', // taken
        'edgefc/v1/status/c', // taken
        'edgefc/v1/reply/c', // the gateway's own reply topic
        'sensors/a/temp', // taken: trigger
        'sensors/a/b/temp',
        'alarms', // taken: "alarms/#" matches its parent level
        'alarms/x/y', // taken
        'other',
      ];
      for (const topic of topics) await device.publishAsync(topic, 'p', { qos: 1 });
      expect(seen).toEqual(['edgefc/v1/invoke/c/S/f', 'edgefc/v1/admin/c/list-functions', 'edgefc/v1/status/c', 'sensors/a/temp', 'alarms', 'alarms/x/y']);
    } finally {
      await link.close();
    }
  });

  test('holds a QoS 1 PUBACK until the dispatcher’s promise settles; other publishers go on', async ({ aedesBroker, connectClient }) => {
    let commit: (() => void) | undefined;
    const events: string[] = [];
    const link = openLink(aedesBroker, (message) => {
      if (message.topic !== 'edgefc/v1/invoke/c/S/async') return undefined;
      events.push('dispatched');
      return new Promise<void>((resolve) => {
        commit = () => {
          events.push('committed');
          resolve();
        };
      });
    });
    try {
      const device = await connectClient(aedesBroker.url);
      const acknowledged = device.publishAsync('edgefc/v1/invoke/c/S/async', 'x', { qos: 1 }).then(() => events.push('puback'));
      await expect.poll(() => events).toEqual(['dispatched']);
      // A whole QoS 1 round trip of another device meanwhile (not held: no promise for it).
      const other = await connectClient(aedesBroker.url);
      await other.publishAsync('edgefc/v1/invoke/c/S/sync', 'y', { qos: 1 });
      expect(events).toEqual(['dispatched']);
      commit?.();
      await acknowledged;
      expect(events).toEqual(['dispatched', 'committed', 'puback']);
    } finally {
      await link.close();
    }
  });

  test('a rejected promise releases the PUBACK too (the caller got an error reply)', async ({ aedesBroker, connectClient }) => {
    const link = openLink(aedesBroker, () => Promise.reject(new Error('disk full')));
    try {
      const device = await connectClient(aedesBroker.url);
      await device.publishAsync('edgefc/v1/invoke/c/S/async', 'x', { qos: 1 });
    } finally {
      await link.close();
    }
  });

  test('replies reach a QoS 1 subscriber as QoS 0 (§1.2), destinations as QoS 1; the gateway’s own publishes never come back to it', async ({ aedesBroker, connectClient }) => {
    const seen: InboundMessage[] = [];
    const link = openLink(aedesBroker, (message) => {
      seen.push(message);
      return undefined;
    }, ['results/#']);
    try {
      const device = await connectClient(aedesBroker.url);
      await device.subscribeAsync(['edgefc/v1/reply/c', 'results/#'], { qos: 1 });
      const received: IPublishPacket[] = [];
      device.on('message', (_topic, _payload, packet) => received.push(packet));
      link.publish('edgefc/v1/reply/c', Buffer.from('r'));
      await link.publishConfirmed('results/x', Buffer.from('d'));
      await expect.poll(() => received.map((packet) => [packet.topic, packet.qos, String(packet.payload)])).toEqual([
        ['edgefc/v1/reply/c', 0, 'r'],
        ['results/x', 1, 'd'],
      ]);
      expect(seen).toEqual([]); // §11.3: results/# is a trigger filter, but this was the gateway's own
    } finally {
      await link.close();
    }
  });

  test('after close nothing is taken and the publisher is not held', async ({ aedesBroker, connectClient }) => {
    const seen: string[] = [];
    const link = openLink(aedesBroker, (message) => {
      seen.push(message.topic);
      return new Promise<void>(() => undefined); // would hold forever
    });
    await link.close();
    const device = await connectClient(aedesBroker.url);
    await device.publishAsync('edgefc/v1/invoke/c/S/f', 'x', { qos: 1 });
    expect(seen).toEqual([]);
  });
});
