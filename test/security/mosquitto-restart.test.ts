/**
 * Calls made while the gateway restarts, through a Mosquitto that `edgefc broker-config
 * mosquitto` configured (docs/operations.md; protocol.md §1.2, §10.1): the broker keeps QoS 1
 * requests (Async always, Sync at `syncRequestQos: 1`) for the gateway's persistent session, and
 * the gateway takes them when it is back; a Sync request at QoS 0 (FCClient's default) is not
 * kept, so it is never run late: its caller times out.
 *
 * Until the gateway's link attached its listeners before its CONNECT, what the broker sent right
 * after the CONNACK was emitted to nobody, and MQTT.js acknowledged the QoS 1 messages unseen.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import type { Gateway } from '../../gateway/gateway.js';
import { settledCode } from '../fixtures/error-code.js';
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

test('QoS 1 calls sent while the gateway is down are taken once it is back; a QoS 0 Sync call is not', async () => {
  gateway = await startGatewayOn(env);
  const atQos0 = clients.fc('sensor-1', { timeout: 4_000 });
  const atQos1 = clients.fc('sensor-1', { timeout: 30_000, syncRequestQos: 1 });
  const call = { serviceName: 'EdgeFC', functionName: 'helloworld' };
  // Connected, and the gateway's persistent session exists.
  expect(String((await atQos0.invokeFunction({ ...call, payload: 'before' })).payload)).toMatch(/hello/i);
  await atQos1.connect();

  await gateway.stop();
  gateway = undefined;
  const sync0 = settledCode(atQos0.invokeFunction({ ...call, payload: 'qos 0' }));
  const sync1 = atQos1.invokeFunction({ ...call, payload: 'qos 1' });
  const async = atQos1.invokeFunction({ ...call, payload: 'async', invocationType: 'Async' });
  // A QoS 1 publish on each connection after its requests: once it is acknowledged, Mosquitto
  // has handled the requests before it (one connection's packets are handled in order).
  await Promise.all([atQos0.publish('factory/line-3/temp', '21.5'), atQos1.publish('factory/line-3/temp', '21.6')]);

  gateway = await startGatewayOn(env);
  expect(String((await sync1).payload)).toMatch(/hello/i);
  expect((await async).requestId).toEqual(expect.any(String));
  expect(await sync0).toBe(ErrorCode.RequestTimeout);
}, 60_000);
