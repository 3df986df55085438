/**
 * What principals may do still works through a Mosquitto that `edgefc broker-config mosquitto`
 * configured, with the gateway run as `edgefc start --broker URL`, which logs in with the
 * gateway.credentials broker-config wrote: a device calls what it is granted, a function calls
 * another through `require('linkedge-core-sdk')` with its derived login, operators administer,
 * and `edgefc users` changes take effect after broker-config and a SIGHUP to Mosquitto.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { invokeTopic, replyTopic } from '../../src/protocol/topics.js';
import { functionPrincipalName } from '../../gateway/security/function-principals.js';
import { settledCode } from '../fixtures/error-code.js';
import { runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { Clients } from './mosquitto-clients.js';
import { startSecuredMosquitto, type SecuredMosquitto } from './mosquitto-env.js';

let env: SecuredMosquitto;
let gateway: CliProcess | undefined;
let clients: Clients;

beforeAll(async () => {
  env = await startSecuredMosquitto();
  gateway = startCliProcess(['start', '--broker', env.broker.url, '--data', env.dataDir, '--template', env.templatePath, '--skip-demo']);
  await gateway.waitForOutput(/edgefc gateway ready/);
  clients = new Clients(env);
}, 60_000);

afterEach(() => clients.closeAll());

afterAll(async () => {
  await stopProcess(gateway);
  await env?.close();
});

describe('devices and functions', () => {
  test('a device calls a function granted to it', async () => {
    const { payload } = await clients.fc('sensor-1').invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload: 'hi' });
    expect(payload).toMatch(/hello/i);
  });

  test('a function calls another through linkedge-core-sdk, logged in as its function', async () => {
    // sensor-2 may call invoker (devices), not helloworld (group line-3 and functions): invoker may.
    const { payload } = await clients.fc('sensor-2').invokeFunction({ serviceName: 'EdgeFC', functionName: 'invoker' });
    expect(JSON.parse(String(payload))).toEqual({ from: 'EdgeFC/helloworld', payload: expect.stringMatching(/hello/i) as string });
    expect(env.broker.log()).toContain(`u'${functionPrincipalName('EdgeFC', 'invoker')}'`);
  });

  test('a plain MQTT 5 request answered on the Response Topic below its own reply topic', async () => {
    const client = await clients.mqtt('sensor-1');
    const responseTopic = `${replyTopic('sensor-1')}/rr`;
    await client.subscribeAsync(responseTopic, { qos: 1 });
    const answer = new Promise<{ topic: string; status: unknown; payload: string }>((resolve) => {
      client.once('message', (topic, payload, packet) => resolve({ topic, status: packet.properties?.userProperties?.['x-fc-status'], payload: payload.toString() }));
    });
    await client.publishAsync(invokeTopic('sensor-1', 'EdgeFC', 'helloworld'), 'plain', { qos: 1, properties: { responseTopic } });
    expect(await answer).toMatchObject({ topic: responseTopic, status: '200', payload: expect.stringMatching(/hello/i) as string });
  });
});

describe('operators', () => {
  test('an operator lists the functions; the CLI on this box finds the local operator broker-config made', async () => {
    const listed = (await clients.admin('alice').call('list')) as { services: { name: string }[] };
    expect(listed.services.map((service) => service.name)).toEqual(['EdgeFC', 'Test']);
    const cli = await runCli(['list', '--data', env.dataDir, '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual(listed);
  });
});

describe('edgefc users, then broker-config and a reload', () => {
  test('a new device can call at once; a removed one can no longer log in', async () => {
    await env.addUser('sensor-3', 'device');
    const removed = await runCli(['users', 'remove', 'sensor-2', '--data', env.dataDir]);
    expect(removed.code, removed.stderr).toBe(0);
    await env.reconfigure();
    const { payload } = await clients.fc('sensor-3').invokeFunction({ serviceName: 'EdgeFC', functionName: 'invoker' });
    expect(String(payload)).toContain('EdgeFC/helloworld');
    const login = connectMqtt(env.broker.url, { connectTimeoutMs: 5_000, username: 'sensor-2', password: env.passwords.get('sensor-2') ?? '' });
    expect(await settledCode(login)).toBe(ErrorCode.AuthenticationFailed);
  });
});
