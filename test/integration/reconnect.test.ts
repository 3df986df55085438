/**
 * After a broker restart the gateway and FCClient reconnect and resubscribe on their own: the
 * same client object serves calls again without being recreated.
 *
 * Known gap (issue 3 builds the fix): a call published while both sides are reconnecting can
 * reach a restarted broker before the gateway has resubscribed, and is then lost; the caller gets
 * RequestTimeout at its deadline. Re-sending pending calls on reconnect needs the gateway's
 * dedupe by request ID first.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { startMosquitto, type MosquittoTestBroker, type RunningBroker } from '../fixtures/brokers.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';

let broker: RunningBroker<MosquittoTestBroker> | undefined;
let env: TestGateway | undefined;

afterEach(async () => {
  await env?.stop();
  await broker?.close();
});

it('keeps serving across a Mosquitto restart on the same port', async () => {
  broker = await startMosquitto();
  const { port } = broker;
  env = await startTestGateway({ brokerUrl: broker.url });
  const client = env.client({ timeout: 15_000 });
  expect((await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' })).payload).toMatch(/hello/i);

  await broker.close();
  broker = await startMosquitto(port);

  // Each try is a short call on the same client; a try that loses the race above times out typed.
  await vi.waitFor(
    async () => {
      const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', timeout: 1000 });
      expect(payload).toMatch(/hello/i);
    },
    { timeout: 15_000, interval: 100 },
  );
  expect(client.pendingCount).toBe(0);
});
