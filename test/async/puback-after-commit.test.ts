/**
 * §10.1 end to end with the embedded broker: a device's PUBACK for an Async request means the
 * call is on disk. The gateway takes the embedded broker's messages in process
 * (gateway/transport/in-process-link.ts), through the broker's PublishInterceptor, which holds
 * aedes's PUBACK until the store has committed (test/broker/publish-interceptor.test.ts shows why
 * a subscription could not).
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import { encodeRequest } from '../../src/protocol/request.js';
import { invokeTopic } from '../../src/protocol/topics.js';
import { startAsyncEnv, type AsyncEnv } from './async-env.js';

describe('Async PUBACK after commit, embedded broker', () => {
  let env: AsyncEnv;
  let admin: AdminClient;
  let device: mqtt.MqttClient;

  beforeAll(async () => {
    env = await startAsyncEnv(undefined);
    admin = new AdminClient({ brokerUrl: env.url, timeoutMs: 5000 });
    device = await mqtt.connectAsync(env.url, { clientId: 'puback_device', protocolVersion: 4 });
  });

  afterAll(async () => {
    await device?.endAsync();
    await admin?.close();
    await env?.stop();
  });

  it('the call is stored by the time the device has its PUBACK, for every call of a burst', async () => {
    const ids = Array.from({ length: 20 }, (_, index) => `puback-${index}`);
    // Pipelined: the 20 PUBLISHes reach aedes in one or a few socket reads, so one group commit
    // may hold several PUBACKs at once.
    await Promise.all(
      ids.map((id) =>
        device.publishAsync(invokeTopic('puback_device', 'Async', 'record'), encodeRequest({ id, type: 'Async' }, Buffer.from('x')), { qos: 1 }),
      ),
    );
    for (const requestId of ids) {
      const { invocations } = (await admin.call('invocations-get', { requestId })) as { invocations: { requestId: string }[] };
      expect(invocations.map((record) => record.requestId)).toEqual([requestId]);
    }
  });
});
