/**
 * Calls made while the gateway restarts, through a Mosquitto that `edgefc broker-config
 * mosquitto` configured (docs/operations.md; protocol.md §1.2, §10.1): the broker keeps them for
 * the gateway's persistent session, and the gateway takes them when it is back. Async requests
 * and Sync requests at QoS 1 are kept as MQTT says; Sync requests at QoS 0 (FCClient's default)
 * because broker-config writes `queue_qos0_messages true`.
 *
 * Until the gateway's link attached its listeners before its CONNECT, what the broker sent right
 * after the CONNACK was emitted to nobody, and MQTT.js acknowledged the QoS 1 messages unseen.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Gateway } from '../../gateway/gateway.js';
import { Clients } from './mosquitto-clients.js';
import { startGatewayOn, startSecuredMosquitto, type SecuredMosquitto } from './mosquitto-env.js';

let env: SecuredMosquitto;
let gateway: Gateway | undefined;
let clients: Clients;

beforeAll(async () => {
  env = await startSecuredMosquitto();
  clients = new Clients(env);
}, 60_000);

afterAll(async () => {
  await clients?.closeAll();
  await gateway?.stop();
  await env?.close();
});

test('Sync calls at QoS 0 and 1 and an Async call sent while the gateway is down are answered once it is back', async () => {
  gateway = await startGatewayOn(env);
  const atQos0 = clients.fc('sensor-1', { timeout: 30_000 });
  const atQos1 = clients.fc('sensor-1', { timeout: 30_000, syncRequestQos: 1 });
  const call = { serviceName: 'EdgeFC', functionName: 'helloworld' };
  // Connected, and the gateway's persistent session exists.
  expect(String((await atQos0.invokeFunction({ ...call, payload: 'before' })).payload)).toMatch(/hello/i);
  await atQos1.connect();

  await gateway.stop();
  gateway = undefined;
  const sync0 = atQos0.invokeFunction({ ...call, payload: 'qos 0' });
  const sync1 = atQos1.invokeFunction({ ...call, payload: 'qos 1' });
  const async = atQos1.invokeFunction({ ...call, payload: 'async', invocationType: 'Async' });
  // A QoS 1 publish on each connection after its requests: once it is acknowledged, Mosquitto
  // has handled the requests before it (one connection's packets are handled in order).
  await Promise.all([atQos0.publish('factory/line-3/temp', '21.5'), atQos1.publish('factory/line-3/temp', '21.6')]);

  gateway = await startGatewayOn(env);
  expect(String((await sync0).payload)).toMatch(/hello/i);
  expect(String((await sync1).payload)).toMatch(/hello/i);
  expect((await async).requestId).toEqual(expect.any(String));
}, 60_000);
