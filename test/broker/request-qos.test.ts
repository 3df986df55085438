/**
 * The QoS FCClient sends its requests with (docs/protocol.md §1.2), seen by a subscriber on a
 * real embedded broker with no gateway: Sync at QoS 0 unless `syncRequestQos: 1`, Async always
 * at QoS 1 (§10.1). The subscriber takes QoS 1, so what it receives is what was published.
 */
import { FCClient } from '../../src/index.js';
import { describe, expect, test } from '../fixtures/brokers.js';

describe('FCClient request QoS', () => {
  test('Sync at QoS 0 by default, 1 when asked; Async at 1 either way', async ({ aedesBroker, connectClient }) => {
    const observer = await connectClient(aedesBroker.url);
    const seen: { functionName: string; qos: number }[] = [];
    observer.on('message', (topic, _payload, packet) => seen.push({ functionName: topic.split('/').at(-1) ?? '', qos: packet.qos }));
    await observer.subscribeAsync('edgefc/v1/invoke/#', { qos: 1 });

    const byDefault = new FCClient({ brokerUrl: aedesBroker.url, timeout: 300 });
    const asked = new FCClient({ brokerUrl: aedesBroker.url, timeout: 300, syncRequestQos: 1 });
    try {
      // No gateway answers: every call times out, after its request was published.
      const calls = [
        byDefault.invokeFunction({ serviceName: 'S', functionName: 'syncDefault' }),
        byDefault.invokeFunction({ serviceName: 'S', functionName: 'asyncDefault', invocationType: 'Async' }),
        asked.invokeFunction({ serviceName: 'S', functionName: 'syncAsked' }),
        asked.invokeFunction({ serviceName: 'S', functionName: 'asyncAsked', invocationType: 'Async' }),
      ];
      const outcomes = await Promise.allSettled(calls);
      expect(outcomes.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as { code?: string }).code : 'answered'))).toEqual(Array(4).fill('RequestTimeout'));
      await expect.poll(() => seen.length).toBe(4);
      expect(Object.fromEntries(seen.map(({ functionName, qos }) => [functionName, qos]))).toEqual({ syncDefault: 0, asyncDefault: 1, syncAsked: 1, asyncAsked: 1 });
    } finally {
      await Promise.all([byDefault.close(), asked.close()]);
    }
  });
});
