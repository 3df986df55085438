/**
 * Durable Async invocations end to end (docs/protocol.md §10, §11), on the embedded aedes and on
 * a real Mosquitto: retries with backoff, expiry, destinations, dedupe, backpressure, records,
 * status over MQTT, cancel, triggers.
 */
import mqtt from 'mqtt';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import { FCClient } from '../../src/index.js';
import { encodeFrame } from '../../src/protocol/envelope.js';
import { decodeReply } from '../../src/protocol/reply.js';
import { startMosquitto, type RunningBroker, type TestBroker } from '../fixtures/brokers.js';
import { settledCode } from '../fixtures/error-code.js';
import { startAsyncEnv, type AsyncEnv } from './async-env.js';
import { waitFor } from '../fixtures/wait.js';

describe.each(['aedes', 'mosquitto'] as const)('Async invocations on %s', (kind) => {
  let broker: RunningBroker<TestBroker> | undefined;
  let env: AsyncEnv;
  let client: FCClient;
  let admin: AdminClient;
  let watcher: mqtt.MqttClient;
  const published: { topic: string; payload: string }[] = [];

  beforeAll(async () => {
    broker = kind === 'mosquitto' ? await startMosquitto() : undefined;
    env = await startAsyncEnv(broker?.url);
    client = env.client();
    await client.connect();
    admin = new AdminClient({ brokerUrl: env.url, timeoutMs: 5000 });
    watcher = await mqtt.connectAsync(env.url, { clientId: `watcher_${kind}`, protocolVersion: 4 });
    await watcher.subscribeAsync('results/#', { qos: 1 });
    watcher.on('message', (topic, payload) => published.push({ topic, payload: payload.toString() }));
  });

  afterAll(async () => {
    await watcher?.endAsync();
    await admin?.close();
    await env?.stop();
    await broker?.close();
  });

  const invokeAsync = (functionName: string, payload: string, requestId?: string) =>
    client.invokeFunction({ serviceName: 'Async', functionName, invocationType: 'Async', payload, ...(requestId === undefined ? {} : { requestId }) });

  const record = async (requestId: string) => {
    const { invocations } = (await admin.call('invocations-get', { requestId })) as { invocations: Record<string, unknown>[] };
    return invocations[0] ?? {};
  };

  it('runs an accepted call once, with context.retryCount 0, and records it', async () => {
    const { requestId } = await invokeAsync('record', 'hello');
    await waitFor(async () => expect((await record(requestId))['state']).toBe('succeeded'));
    expect(env.runsOf(requestId)).toMatchObject([{ retryCount: 0, event: 'hello' }]);
    const rec = await record(requestId);
    expect(rec).toMatchObject({ attempts: 1, result: 'done:hello', function: 'Async/record', source: 'invoke' });
    expect(rec['logTail']).toEqual([expect.stringContaining(`run ${requestId} retry 0`)]);
    // onSuccess: mqtt://results/record got the outcome.
    await waitFor(() => expect(published.map((p) => (JSON.parse(p.payload) as { requestId: string }).requestId)).toContain(requestId));
    const message = JSON.parse(published.find((p) => JSON.parse(p.payload).requestId === requestId)?.payload ?? '{}');
    expect(message).toMatchObject({ version: 1, state: 'succeeded', function: 'Async/record', event: 'hello', result: 'done:hello', attempts: 1 });
  });

  it('retries with exponential backoff and tells the handler its retryCount', async () => {
    const { requestId } = await invokeAsync('record', 'fail-twice');
    await waitFor(async () => expect((await record(requestId))['state']).toBe('succeeded'), { timeout: 5000 });
    const runs = env.runsOf(requestId);
    expect(runs.map((r) => r.retryCount)).toEqual([0, 1, 2]);
    const [first, second, third] = runs.map((r) => r.at) as [number, number, number];
    // Base 100 ms in this gateway: ≥ 100 ms before the first retry, ≥ 200 ms before the second.
    expect(second - first).toBeGreaterThanOrEqual(95);
    expect(third - second).toBeGreaterThanOrEqual(195);
    expect(await record(requestId)).toMatchObject({ attempts: 3, state: 'succeeded' });
  });

  it('fails after maxAsyncRetryAttempts and hands the outcome to the onFailure function', async () => {
    const { requestId } = await invokeAsync('record', 'fail');
    await waitFor(async () => expect((await record(requestId))['state']).toBe('failed'), { timeout: 5000 });
    expect(env.runsOf(requestId)).toHaveLength(3); // 1 + maxAsyncRetryAttempts (2)
    expect(await record(requestId)).toMatchObject({ attempts: 3, error: { code: 'HandledInvocationError' } });
    // fc://Async/sink ran with the destination message as its event.
    await waitFor(() => expect(env.runs().some((r) => r.fn === 'sink' && r.event.includes(requestId))).toBe(true));
    const sinkRun = env.runs().find((r) => r.fn === 'sink' && r.event.includes(requestId));
    expect(JSON.parse(sinkRun?.event ?? '{}')).toMatchObject({ requestId, state: 'failed', attempts: 3, error: { code: 'HandledInvocationError' } });
  });

  it('never runs a retried request ID twice (Async), and replays a finished Sync call', async () => {
    const requestId = `dup-${kind}-${Date.now()}`;
    expect((await invokeAsync('record', 'once', requestId)).requestId).toBe(requestId);
    await waitFor(async () => expect((await record(requestId))['state']).toBe('succeeded'));
    // The same ID again, after it finished: accepted (idempotent), not run again.
    expect((await invokeAsync('record', 'once', requestId)).requestId).toBe(requestId);
    // The same ID for another call (a different event, or function): a clear conflict, not "accepted".
    const conflict = await invokeAsync('record', 'something else', requestId).catch((error: unknown) => error as Error & { code?: string });
    expect(conflict).toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('a call with a different event') as string });
    expect(await settledCode(invokeAsync('sink', 'once', requestId))).toBe('InvalidArgument');
    expect(env.runsOf(requestId)).toHaveLength(1);
    // Sync: a raw client sends the same request three times, twice while the first runs.
    const syncId = `sync-${kind}-${Date.now()}`;
    const raw = await mqtt.connectAsync(env.url, { clientId: `raw_sync_${kind}`, protocolVersion: 4 });
    try {
      const replies: Buffer[] = [];
      raw.on('message', (_topic, payload) => replies.push(payload));
      await raw.subscribeAsync(`edgefc/v1/reply/raw_sync_${kind}`, { qos: 1 });
      const frame = encodeFrame({ id: syncId, type: 'Sync', timeout: 5000 }, Buffer.from('300'));
      const topic = `edgefc/v1/invoke/raw_sync_${kind}/Async/sink`;
      await raw.publishAsync(topic, frame, { qos: 1 });
      await raw.publishAsync(topic, frame, { qos: 1 });
      await waitFor(() => expect(replies).toHaveLength(2));
      await raw.publishAsync(topic, frame, { qos: 1 });
      await waitFor(() => expect(replies).toHaveLength(3));
      expect(replies.map((r) => decodeReply(r))).toEqual(Array(3).fill({ requestId: syncId, status: 'ok', payload: Buffer.from('done:300'), binary: false }));
    } finally {
      await raw.endAsync();
    }
    expect(env.runsOf(syncId)).toHaveLength(1);
    expect(env.runsOf(requestId)).toHaveLength(1);
  });

  it('refuses at once when the durable queue is full, and expires calls older than maxAsyncEventAgeInSeconds', async () => {
    // Async/slow: one slot, maxAsyncQueueLength 2, maxAsyncEventAgeInSeconds 1.
    const running = await invokeAsync('slow', '1500');
    await waitFor(() => expect(env.runsOf(running.requestId)).toHaveLength(1));
    const waiting = await invokeAsync('slow', '0');
    expect(await settledCode(invokeAsync('slow', '0'))).toBe('ResourceThrottled');
    // A waiting call can be cancelled; a running one cannot.
    const cancellable = waiting.requestId;
    expect(await settledCode(admin.call('invocations-cancel', { requestId: running.requestId }))).toBe('InvalidArgument');
    const { invocation } = (await admin.call('invocations-cancel', { requestId: cancellable })) as { invocation: { state: string } };
    expect(invocation.state).toBe('cancelled');
    // Room again: this one waits behind the 1.5 s run and is older than 1 s when its turn comes.
    const late = await invokeAsync('slow', '0');
    await waitFor(async () => expect((await record(late.requestId))['state']).toBe('expired'), { timeout: 5000 });
    expect(await record(late.requestId)).toMatchObject({ attempts: 0, error: { code: 'DeadlineExceeded' } });
    expect(env.runsOf(late.requestId)).toEqual([]);
    expect(env.runsOf(cancellable)).toEqual([]);
    const listed = (await admin.call('invocations-list', { function: 'Async/slow', state: 'expired' })) as { invocations: { requestId: string }[] };
    expect(listed.invocations.map((i) => i.requestId)).toContain(late.requestId);
    expect(await settledCode(admin.call('invocations-list', { state: 'nonsense' }))).toBe('InvalidArgument');
  });

  it('answers a device asking for the status of its own call over MQTT', async () => {
    const { requestId } = await invokeAsync('record', 'status please');
    await waitFor(async () => expect((await client.getAsyncStatus(requestId)).state).toBe('succeeded'));
    expect(await client.getAsyncStatus(requestId)).toMatchObject({ requestId, function: 'Async/record', attempts: 1, result: 'done:status please' });
    // Another client cannot see it: the client ID comes from the topic.
    const other = env.client();
    expect((await other.getAsyncStatus(requestId)).state).toBe('unknown');
  });

  it('turns matching trigger messages into Async calls (+ and #), and ignores others', async () => {
    const device = env.client();
    await device.publish('sensors/room1/other', 'no match');
    await device.publish('sensors/room1/temp', '21.5');
    await device.publish('alarms/fire/floor2', 'ring');
    await device.publish('alarms', 'parent level');
    await waitFor(() => expect(env.runs().filter((r) => r.fn === 'trig')).toHaveLength(3));
    const runs = env.runs().filter((r) => r.fn === 'trig');
    expect(runs.map((r) => r.invokerContext['trigger'])).toEqual([
      { type: 'mqtt', name: 'temps', topic: 'sensors/room1/temp' },
      { type: 'mqtt', name: 'alarms/#', topic: 'alarms/fire/floor2' },
      { type: 'mqtt', name: 'alarms/#', topic: 'alarms' },
    ]);
    expect(runs.map((r) => r.event)).toEqual(['21.5', 'ring', 'parent level']);
    const listed = (await admin.call('invocations-list', { function: 'Async/trig' })) as { invocations: { source: string; topic: string }[] };
    expect(listed.invocations.map((i) => i.source)).toEqual(['trigger', 'trigger', 'trigger']);
  });

  it('a redeploy subscribes new trigger topics and drops removed ones, without a restart', async () => {
    const templatePath = env.gateway.registry.templatePath;
    const original = await readFile(templatePath, 'utf8');
    await writeFile(templatePath, original.replace('topic: sensors/+/temp', 'topic: doors/+/open'));
    try {
      expect(await env.gateway.redeploy()).toMatchObject({ triggersChanged: true });
      const device = env.client();
      const before = env.runs().filter((r) => r.fn === 'trig').length;
      await device.publish('sensors/room9/temp', 'dropped filter');
      await device.publish('doors/front/open', 'new filter');
      await waitFor(() => expect(env.runs().filter((r) => r.fn === 'trig').length).toBeGreaterThan(before));
      expect(env.runs().filter((r) => r.fn === 'trig').slice(before).map((r) => r.event)).toEqual(['new filter']);
      // Published before the new one by the same client: had the old filter still matched, the
      // gateway would have taken it first, so its record would exist now.
      const listed = (await admin.call('invocations-list', { function: 'Async/trig' })) as { invocations: { topic: string }[] };
      expect(listed.invocations.map((i) => i.topic)).not.toContain('sensors/room9/temp');
      expect(listed.invocations.map((i) => i.topic)).toContain('doors/front/open');
    } finally {
      await writeFile(templatePath, original);
      await env.gateway.redeploy();
    }
  });
});
