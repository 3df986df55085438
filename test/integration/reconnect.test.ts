/**
 * After a broker restart the gateway and FCClient reconnect and resubscribe on their own: the
 * same client object serves calls again without being recreated, and a call made while both are
 * still reconnecting completes — the client publishes its waiting calls again once it is back,
 * and the gateway dedupes repeats by request ID (docs/protocol.md §10.2).
 */
import { afterEach, expect, it } from 'vitest';
import { startMosquitto, type MosquittoTestBroker, type RunningBroker } from '../fixtures/brokers.js';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
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

  // Made while both sides are reconnecting: it may reach the new broker before the gateway has
  // resubscribed and be lost there; the client's re-send after its own reconnect delivers it.
  const during = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' });
  expect(during.payload).toMatch(/hello/i);
  const after = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', timeout: 2000 });
  expect(after.payload).toMatch(/hello/i);
  expect(client.pendingCount).toBe(0);
});

it('connects through the next broker of a comma-separated list when the first is down', async () => {
  env = await startTestGateway();
  // A port nobody listens on: the list's first broker, refused; the client goes on to the next.
  const dead = `mqtt://127.0.0.1:${await freeLoopbackPort()}`;
  const client = env.client({ brokerUrl: `${dead},${env.url}`, timeout: 15_000, connectTimeout: 10_000 });
  expect((await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' })).payload).toMatch(/hello/i);
});

it('refuses a broker list entry that is not an MQTT URL, with a typed error naming it', async () => {
  env = await startTestGateway();
  const client = env.client({ brokerUrl: `${env.url},http://127.0.0.1:80` });
  await expect(client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('http://127.0.0.1:80') });
});
