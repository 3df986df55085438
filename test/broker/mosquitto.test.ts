import { describe, expect } from 'vitest';
import { test } from '../fixtures/brokers.js';

describe('mosquittoBroker fixture', () => {
  test('speaks MQTT 3.1.1 and MQTT 5', async ({ mosquittoBroker, connectClient }) => {
    expect(mosquittoBroker.kind).toBe('mosquitto');
    expect(mosquittoBroker.url).toBe(`mqtt://127.0.0.1:${mosquittoBroker.port}`);
    const v4 = await connectClient(mosquittoBroker.url, { protocolVersion: 4 });
    const v5 = await connectClient(mosquittoBroker.url, { protocolVersion: 5 });
    await v5.subscribeAsync('m/#', { qos: 1 });
    const received = new Promise<string>((resolve) => v5.once('message', (_t, payload) => resolve(payload.toString())));
    await v4.publishAsync('m/x', 'from v4', { qos: 1 });
    expect(await received).toBe('from v4');
  });

  test('MQTT 5 shared subscriptions deliver (unlike aedes)', async ({ mosquittoBroker, connectClient }) => {
    const a = await connectClient(mosquittoBroker.url, { protocolVersion: 5 });
    const b = await connectClient(mosquittoBroker.url, { protocolVersion: 5 });
    await a.subscribeAsync('$share/g/s/#', { qos: 1 });
    await b.subscribeAsync('$share/g/s/#', { qos: 1 });
    let count = 0;
    a.on('message', () => count++);
    b.on('message', () => count++);
    const publisher = await connectClient(mosquittoBroker.url, { protocolVersion: 5 });
    for (let i = 0; i < 10; i++) await publisher.publishAsync('s/x', String(i), { qos: 1 });
    // Each message goes to exactly one group member.
    await expect.poll(() => count).toBe(10);
  });

  test('teardown leaves no mosquitto process behind', async () => {
    const { startMosquitto } = await import('../fixtures/brokers.js');
    const broker = await startMosquitto();
    const pid = broker.process.pid;
    expect(pid).toBeTypeOf('number');
    await broker.close();
    expect(broker.process.exitCode !== null || broker.process.signalCode !== null).toBe(true);
    // kill(pid, 0) throws ESRCH once the process is gone (and reaped by our exit handler).
    expect(() => process.kill(pid ?? -1, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });
});
