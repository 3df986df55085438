/**
 * A plain MQTT 5 request names its qualifier in the user property `x-fc-qualifier`
 * (docs/protocol.md §8.7, §3.2a): one that names no version or alias is answered 404
 * FunctionNotFound, a malformed one 400 InvalidArgument, and without one the call runs on
 * LATEST. Mosquitto, since aedes speaks no MQTT 5.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoTestBroker, type RunningBroker } from '../fixtures/brokers.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { waitFor } from '../fixtures/wait.js';

describe('plain MQTT 5 requests and x-fc-qualifier', () => {
  let broker: RunningBroker<MosquittoTestBroker>;
  let env: TestGateway;

  beforeAll(async () => {
    broker = await startMosquitto();
    env = await startTestGateway({ brokerUrl: broker.url });
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
    await broker?.close();
  });

  it('LATEST by default; a qualifier that names nothing is FunctionNotFound; a malformed one InvalidArgument', async () => {
    const v5 = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'v5_qualifier' });
    try {
      await v5.subscribeAsync('edgefc/v1/reply/v5_qualifier/#', { qos: 1 });
      const replies = new Map<string, string>();
      v5.on('message', (_topic, _payload, packet) => {
        const p = packet.properties;
        replies.set(String(p?.correlationData), `${String(p?.userProperties?.['x-fc-status'])} ${String(p?.userProperties?.['x-fc-error-code'] ?? '')}`.trim());
      });
      const ask = (id: string, qualifier?: string): Promise<unknown> =>
        v5.publishAsync('edgefc/v1/invoke/v5_qualifier/EdgeFC/jsonfield', '{"key":"v5"}', {
          qos: 1,
          properties: { responseTopic: 'edgefc/v1/reply/v5_qualifier/rr', correlationData: Buffer.from(id), ...(qualifier === undefined ? {} : { userProperties: { 'x-fc-qualifier': qualifier } }) },
        });
      await ask('latest');
      await ask('named-latest', 'LATEST');
      await ask('missing', 'prod');
      await ask('malformed', 'no spaces');
      await waitFor(() => expect(replies.size).toBe(4), { timeout: 10_000, interval: 20 });
      expect(Object.fromEntries(replies)).toEqual({ latest: '200', 'named-latest': '200', missing: '404 FunctionNotFound', malformed: '400 InvalidArgument' });
    } finally {
      await v5.endAsync();
    }
  });
});
