/**
 * After a broker restart the gateway and FCClient reconnect and resubscribe on their own: the
 * same client object serves calls again without being recreated, and a call made while both are
 * still reconnecting completes — the client publishes its waiting calls again once it is back,
 * and the gateway dedupes repeats by request ID (docs/protocol.md §10.2).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RequestChannel } from '../../src/client/request-channel.js';
import { encodeRequest } from '../../src/protocol/request.js';
import { invokeTopic, replyTopic } from '../../src/protocol/topics.js';
import { startMosquitto, type MosquittoTestBroker, type RunningBroker } from '../fixtures/brokers.js';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { waitFor } from '../fixtures/wait.js';

let broker: RunningBroker<MosquittoTestBroker> | undefined;
let env: TestGateway | undefined;

const channels: RequestChannel[] = [];

afterEach(async () => {
  await Promise.all(channels.splice(0).map((channel) => channel.close()));
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

describe('a connection that delivers no replies (§4.5)', () => {
  /** A channel whose reply subscription the broker no longer serves: a stuck session, as nats-server left one after a node loss. */
  async function stuckChannel(reconnectAfterTimeouts: number): Promise<{ channel: RequestChannel; warnings: string[]; call: () => Promise<unknown> }> {
    env = await startTestGateway();
    const address = `edgefc_stuck${reconnectAfterTimeouts}`;
    const warnings: string[] = [];
    const channel = new RequestChannel({ brokerUrl: env.url, clientId: address, address, tls: {}, username: undefined, password: undefined, connectTimeout: 5_000, logger: { warn: (m) => warnings.push(m) }, reconnectAfterTimeouts });
    channels.push(channel);
    const mqtt = await channel.ready();
    await mqtt.unsubscribeAsync(replyTopic(address));
    let n = 0;
    const call = (): Promise<unknown> => {
      const requestId = `stuck-${reconnectAfterTimeouts}-${n++}`;
      return channel.request({
        requestId,
        deadline: Date.now() + 400,
        signal: undefined,
        topic: invokeTopic(address, 'EdgeFC', 'helloworld'),
        frame: (remaining) => encodeRequest({ id: requestId, type: 'Sync', timeout: remaining }, undefined),
        resendOnReconnect: true,
      });
    };
    return { channel, warnings, call };
  }

  it('is replaced after reconnectAfterTimeouts calls in a row time out; calls are answered again', async () => {
    const { warnings, call } = await stuckChannel(2);
    await expect(call()).rejects.toMatchObject({ code: 'RequestTimeout' });
    await expect(call()).rejects.toMatchObject({ code: 'RequestTimeout' });
    expect(warnings.join('\n')).toMatch(/2 calls in a row got no reply/);
    await waitFor(async () => expect(await call()).toMatchObject({ status: 'ok' }), { timeout: 10_000, interval: 50 });
  });

  it('is kept with reconnectAfterTimeouts 0: calls go on timing out', async () => {
    const { warnings, call } = await stuckChannel(0);
    for (let i = 0; i < 4; i++) await expect(call()).rejects.toMatchObject({ code: 'RequestTimeout' });
    expect(warnings).toEqual([]);
  });
});
