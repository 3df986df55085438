/**
 * The end-to-end contract of gateway + FCClient, run once per broker kind
 * (gateway.aedes.test.ts: the embedded broker; gateway.mosquitto.test.ts: a real Mosquitto).
 */
import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import { encodeFrame } from '../../src/protocol/envelope.js';
import { decodeReply } from '../../src/protocol/reply.js';
import { encodeInvokerContext, FCClient, type InvokeResult } from '../../src/index.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { waitFor } from '../fixtures/wait.js';

export interface ExternalBroker {
  url: string;
  stop(): Promise<void>;
}

function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

/** A raw MQTT 3.1.1 client, to send what FCClient refuses to send. */
async function rawClient(url: string, clientId: string): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(url, { clientId, protocolVersion: 4 });
  await client.subscribeAsync(`edgefc/v1/reply/${clientId}`, { qos: 1 });
  return client;
}

function nextMessage(client: mqtt.MqttClient): Promise<Buffer> {
  return new Promise((resolve) => client.once('message', (_topic, payload) => resolve(payload)));
}

function nextPacket(client: mqtt.MqttClient): Promise<mqtt.IPublishPacket> {
  return new Promise((resolve) => client.once('message', (_topic, _payload, packet) => resolve(packet)));
}

export interface SuiteOptions {
  /** The broker speaks MQTT 5, so plain MQTT 5 requests (protocol §8) are tested too. */
  mqtt5: boolean;
}

export function defineGatewaySuite(
  kind: 'aedes' | 'mosquitto',
  startBroker: () => Promise<ExternalBroker | undefined>,
  options: SuiteOptions,
): void {
  describe(`gateway over ${kind}`, () => {
    let broker: ExternalBroker | undefined;
    let env: TestGateway;
    let client: FCClient;

    beforeAll(async () => {
      broker = await startBroker();
      env = await startTestGateway(broker === undefined ? {} : { brokerUrl: broker.url });
      client = env.client();
      await client.connect();
    });

    afterAll(async () => {
      await env?.stop();
      await broker?.stop();
    });

    afterEach(() => {
      // No call may be left pending, with its timer and listeners, after a test.
      expect(client.pendingCount).toBe(0);
    });

    describe('Sync calls', () => {
      it('runs the helloworld sample and returns its text as a string', async () => {
        const result = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload: 'hi' });
        expect(typeof result.payload).toBe('string');
        expect(result.payload).toMatch(/hello/i);
        expect(result.requestId).toMatch(/^[A-Za-z0-9_-]{21}$/);
      });

      it('answers through the callback contract (err null, data.payload)', async () => {
        const [err, data] = await new Promise<[Error | null, InvokeResult | undefined]>((resolve) => {
          client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'jsonfield', payload: '{"key":"value"}' }, (e, d) => resolve([e, d]));
        });
        expect(err).toBeNull();
        expect(data?.payload).toBe('value');
      });

      it('passes errors to the callback with their code', async () => {
        const err = await new Promise<Error | null>((resolve) => {
          client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'nosuch' }, (e) => resolve(e));
        });
        expect(err).toMatchObject({ code: 'FunctionNotFound' });
      });

      it('runs an async (promise) handler', async () => {
        const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'asynchello', payload: 'abc' });
        expect(JSON.parse(String(payload))).toBeTypeOf('object');
      });

      it('returns binary results as Buffers, byte for byte', async () => {
        const { payload } = await client.invokeFunction({ serviceName: 'Test', functionName: 'binary', payload: Buffer.from([1, 2]) });
        expect(payload).toEqual(Buffer.from([0xff, 0x00, 0xfe, 1, 2]));
      });

      it('carries a 1 MiB event as raw bytes', async () => {
        const event = Buffer.alloc(1024 * 1024, 7);
        const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'echo', payload: event });
        expect(Buffer.isBuffer(payload)).toBe(true);
        expect(Buffer.compare(payload as Buffer, event)).toBe(0);
      });

      it('gives the handler FC’s context, with the decoded invokerContext', async () => {
        const invokerContext = { custom: { data: 'from the test' } };
        const result = await client.invokeFunction({
          serviceName: 'Test',
          functionName: 'context',
          payload: 'the event',
          invokerContext: encodeInvokerContext(invokerContext),
        });
        const seen = JSON.parse(String(result.payload)) as { event: string; eventIsBuffer: boolean; hasSignal: boolean; context: Record<string, unknown> };
        expect(seen.event).toBe('the event');
        expect(seen.eventIsBuffer).toBe(true);
        expect(seen.hasSignal).toBe(true);
        expect(seen.context).toMatchObject({
          requestId: result.requestId,
          invokerContext,
          region: 'cn-test',
          accountId: '4242',
          credentials: { accessKeyId: 'AK-test', accessKeySecret: 'SK-test', securityToken: 'TOKEN-test' },
          function: { name: 'context', handler: 'index.handler', memory: 128, timeout: 3 },
          service: { name: 'Test', qualifier: 'LATEST' },
        });
      });

      it('accepts the invokerContext as an object and gives {} when there is none', async () => {
        const withObject = await client.invokeFunction({ serviceName: 'Test', functionName: 'context', invokerContext: { a: 1 } });
        expect(JSON.parse(String(withObject.payload)).context.invokerContext).toEqual({ a: 1 });
        const without = await client.invokeFunction({ serviceName: 'Test', functionName: 'context' });
        expect(JSON.parse(String(without.payload)).context.invokerContext).toEqual({});
      });

      it('lets a function call another through linkedge-core-sdk (the invoker sample)', async () => {
        const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'invoker' });
        const got = JSON.parse(String(payload)) as { from: string; payload: string };
        expect(got.from).toBe('EdgeFC/helloworld');
        expect(got.payload).toMatch(/hello/i);
        // helloworld logged the invokerContext the invoker built, under its own request ID.
        await waitFor(() => expect(env.lines.join('\n')).toContain('set by the invoker sample'));
      });
    });

    describe('failures are typed', () => {
      it('reports a callback error as HandledInvocationError with FC fields', async () => {
        const error = await rejectionOf(client.invokeFunction({ serviceName: 'Test', functionName: 'fail', payload: 'handled' }));
        expect(error).toMatchObject({ code: 'HandledInvocationError', errorType: 'RangeError', errorMessage: 'value out of range' });
        // The trace is the function's own: its handler frame, none of the runtime's.
        const trace = error['stackTrace'] as string[];
        // Where the function's code is: its codeUri, or the copy staged for its own user
        // (<data>/code/<uid>/<hash>, gateway/containment/code-stager.ts) when the gateway is root.
        expect(trace[0]).toMatch(/(?:gateway-functions\/fail|\/code\/\d+\/[0-9a-f]{32})\/index\.js:\d+:\d+/);
        expect(trace.join('\n')).not.toMatch(/runtime\/node\/child/);
      });

      it('reports a throw as UnhandledInvocationError', async () => {
        const error = await rejectionOf(client.invokeFunction({ serviceName: 'Test', functionName: 'fail', payload: 'throw' }));
        expect(error).toMatchObject({ code: 'UnhandledInvocationError', errorType: 'TypeError' });
      });

      it('reports unknown services and functions', async () => {
        expect(await rejectionOf(client.invokeFunction({ serviceName: 'Nope', functionName: 'x' }))).toMatchObject({ code: 'ServiceNotFound' });
        expect(await rejectionOf(client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'x' }))).toMatchObject({ code: 'FunctionNotFound' });
      });

      it('stops a function at its timeout with FunctionTimeout', async () => {
        // Test/sleep has a 1 s timeout; the caller allows 5 s.
        const error = await rejectionOf(client.invokeFunction({ serviceName: 'Test', functionName: 'sleep', payload: '3000' }));
        expect(error).toMatchObject({ code: 'FunctionTimeout' });
      });

      it('stops the run at the caller’s deadline when it is shorter than the function timeout', async () => {
        // The gateway stops the call at the caller's deadline (FunctionTimeout) at about the time
        // the client's own timer fires (RequestTimeout): on a loaded machine either can be first.
        const error = await rejectionOf(client.invokeFunction({ serviceName: 'Test', functionName: 'sleep', payload: '800', timeout: 100 }));
        expect(['RequestTimeout', 'FunctionTimeout']).toContain(error['code']);
      });

      it('refuses a call at once when the function’s queue is full', async () => {
        // Test/busy: one instance, one waiting call; the third is throttled. Its own function, so
        // no abandoned handler of another test (a timed-out sleep) holds its instance.
        const calls = [0, 1, 2].map(() => client.invokeFunction({ serviceName: 'Test', functionName: 'busy', payload: '300' }));
        const outcomes = await Promise.allSettled(calls);
        const codes = outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as { code: string }).code));
        expect(codes).toEqual(['ok', 'ok', 'ResourceThrottled']);
      });

      it('never starts a call whose deadline passed while it waited', async () => {
        const failedBefore = env.gateway.stats().find((s) => s.function === 'marker')?.failed ?? 0;
        // Test/marker runs one call at a time: this one holds it for 600 ms ...
        const blocking = client.invokeFunction({ serviceName: 'Test', functionName: 'marker', payload: '600' });
        // ... so this one waits in the queue past its 50 ms deadline.
        const lateId = `late-${Date.now()}`;
        const late = client.invokeFunction({ serviceName: 'Test', functionName: 'marker', payload: '0', timeout: 50, requestId: lateId });
        const lateError = await rejectionOf(late);
        expect(lateError).toMatchObject({ code: 'RequestTimeout' });
        expect(String(lateError['stack'])).toContain('gateway-suite'); // created at the call site
        await blocking;
        // The gateway dropped it (DeadlineExceeded) when its turn came, without running it.
        await waitFor(() => expect(env.gateway.stats().find((s) => s.function === 'marker')?.failed).toBe(failedBefore + 1));
        expect(existsSync(join(env.markerDir, lateId))).toBe(false);
      });

      it("makes a callback caller's timeout error at its call site (STYLE §10)", async () => {
        const error = await new Promise<unknown>((resolve) => {
          client.invokeFunction({ serviceName: 'Test', functionName: 'sleep', payload: '300', timeout: 50 }, (err) => resolve(err));
        });
        expect(error).toMatchObject({ code: 'RequestTimeout', message: expect.stringContaining('deadline') });
        expect(String((error as Error).stack)).toContain('gateway-suite');
      });

      it('fails with Aborted when the signal fires, and leaves nothing pending', async () => {
        const controller = new AbortController();
        const call = client.invokeFunction({ serviceName: 'Test', functionName: 'sleep', payload: '500', signal: controller.signal });
        controller.abort();
        expect(await rejectionOf(call)).toMatchObject({ code: 'Aborted' });
      });

      it('removes its abort listener on every path', async () => {
        const signal = new AbortController().signal;
        await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', signal });
        await rejectionOf(client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'nosuch', signal }));
        await rejectionOf(client.invokeFunction({ serviceName: 'Test', functionName: 'sleep', payload: '500', timeout: 50, signal }));
        expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      });

      it('fails every pending call with ClientClosed on close()', async () => {
        const closing = env.client();
        await closing.connect();
        const outcome = rejectionOf(closing.invokeFunction({ serviceName: 'Test', functionName: 'sleep', payload: '500' }));
        await closing.close();
        expect(await outcome).toMatchObject({ code: 'ClientClosed' });
        expect(closing.pendingCount).toBe(0);
        expect(await rejectionOf(closing.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' }))).toMatchObject({ code: 'ClientClosed' });
      });
    });

    describe('Async calls', () => {
      it('resolves with the request ID once accepted, then runs the call', async () => {
        const result = await client.invokeFunction({ serviceName: 'Test', functionName: 'marker', invocationType: 'Async', payload: 'async!' });
        expect(Object.keys(result)).toEqual(['requestId']); // AsyncInvokeResult: no payload
        await waitFor(() => expect(readdirSync(env.markerDir)).toContain(result.requestId));
      });
    });

    describe('the gateway refuses bad input before any handler runs', () => {
      it('answers InvalidArgument to a garbage invokerContext sent past the client', async () => {
        const raw = await rawClient(env.url, 'raw_ctx');
        try {
          const reply = nextPacket(raw);
          const header = { id: 'bad-ctx-1', type: 'Sync', timeout: 2000, ctx: 'eyJ9!!!' };
          await raw.publishAsync('edgefc/v1/invoke/raw_ctx/Test/marker', encodeFrame(header, Buffer.from('x')), { qos: 1 });
          const packet = await reply;
          // §1.2: envelope replies are QoS 0, whatever the subscription's QoS.
          expect(packet.qos).toBe(0);
          const decoded = decodeReply(packet.payload as Buffer);
          expect(decoded).toMatchObject({ requestId: 'bad-ctx-1', status: 'error', error: { code: 'InvalidArgument' } });
          expect(existsSync(join(env.markerDir, 'bad-ctx-1'))).toBe(false);
        } finally {
          await raw.endAsync();
        }
      });

      it('answers ProtocolError to a payload that is not an envelope', async () => {
        const raw = await rawClient(env.url, 'raw_plain');
        try {
          const reply = nextMessage(raw);
          await raw.publishAsync('edgefc/v1/invoke/raw_plain/Test/marker', 'just text', { qos: 1 });
          expect(decodeReply(await reply)).toMatchObject({ requestId: '', status: 'error', error: { code: 'ProtocolError' } });
        } finally {
          await raw.endAsync();
        }
      });

      it('drops a malformed topic and keeps serving', async () => {
        const raw = await rawClient(env.url, 'raw_topic');
        try {
          await raw.publishAsync('edgefc/v1/invoke/raw_topic/9bad/name', 'x', { qos: 1 });
          await waitFor(() => expect(env.lines.join('\n')).toContain('malformed topic'));
          const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' });
          expect(payload).toMatch(/hello/i);
        } finally {
          await raw.endAsync();
        }
      });

      it('survives a QoS 0 flood, throttling instead of queueing without bound', async () => {
        const raw = await rawClient(env.url, 'raw_flood');
        let replies = 0;
        raw.on('message', () => {
          replies += 1;
        });
        try {
          const frame = (i: number): Buffer => encodeFrame({ id: `flood-${i}`, type: 'Sync', timeout: 10_000 }, Buffer.from('200'));
          for (let i = 0; i < 5000; i += 1) raw.publish('edgefc/v1/invoke/raw_flood/Test/sleep', frame(i), { qos: 0 });
          // Every request gets an answer (most of them ResourceThrottled); none is silently lost.
          await waitFor(() => expect(replies).toBe(5000), { timeout: 15_000, interval: 50 });
          const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' });
          expect(payload).toMatch(/hello/i);
        } finally {
          await raw.endAsync();
        }
      });
    });

    // aedes has no MQTT 5, so these exist only where the broker has it.
    if (options.mqtt5) describe('plain MQTT 5 requests (protocol §8)', () => {
      it('answers mosquitto_rr with the function result', async () => {
        const port = new URL(env.url).port;
        const { stdout, code } = await run('mosquitto_rr', [
          '-V', '5', '-p', port, '-t', 'edgefc/v1/invoke/rr/EdgeFC/jsonfield', '-e', 'edgefc/v1/reply/rr', '-m', '{"key":"via rr"}', '-W', '10',
        ]);
        expect(code).toBe(0);
        expect(stdout.trim()).toBe('via rr');
      });

      it('echoes the correlation data and reports errors with x-fc-status', async () => {
        const v5 = await mqtt.connectAsync(env.url, { protocolVersion: 5, clientId: 'v5_plain' });
        try {
          await v5.subscribeAsync('edgefc/v1/reply/v5_plain/#', { qos: 1 });
          const replies: { payload: Buffer; properties: mqtt.IPublishPacket['properties']; qos: number }[] = [];
          v5.on('message', (_topic, payload, packet) => replies.push({ payload, properties: packet.properties, qos: packet.qos }));
          const ask = (fn: string, correlation: string, payload: string) =>
            v5.publishAsync(`edgefc/v1/invoke/v5_plain/EdgeFC/${fn}`, payload, {
              qos: 1,
              properties: { responseTopic: 'edgefc/v1/reply/v5_plain/rr', correlationData: Buffer.from(correlation) },
            });
          await ask('jsonfield', 'c-ok', '{"key":"v5"}');
          await ask('nosuch', 'c-missing', '');
          await waitFor(() => expect(replies).toHaveLength(2));
          const byCorrelation = new Map(replies.map((r) => [String(r.properties?.correlationData), r]));
          const ok = byCorrelation.get('c-ok');
          expect(ok?.payload.toString()).toBe('v5');
          expect(replies.map((r) => r.qos)).toEqual([1, 1]); // §1.2: plain MQTT 5 replies stay QoS 1
          expect(ok?.properties?.userProperties).toMatchObject({ 'x-fc-status': '200' });
          const missing = byCorrelation.get('c-missing');
          expect(JSON.parse(String(missing?.payload))).toMatchObject({ code: 'FunctionNotFound' });
          expect(missing?.properties?.userProperties).toMatchObject({ 'x-fc-status': '404', 'x-fc-error-code': 'FunctionNotFound' });

          // §8.5: a Response Topic that is not the caller's own is answered AccessDenied on its
          // own reply topic, and nothing is published where it pointed.
          const elsewhere: string[] = [];
          const bystander = await mqtt.connectAsync(env.url, { protocolVersion: 5, clientId: 'bystander' });
          try {
            await bystander.subscribeAsync('edgefc/v1/reply/bystander', { qos: 1 });
            bystander.on('message', (topic) => elsewhere.push(topic));
            await v5.publishAsync('edgefc/v1/invoke/v5_plain/EdgeFC/jsonfield', '{"key":"stolen"}', {
              qos: 1,
              properties: { responseTopic: 'edgefc/v1/reply/bystander', correlationData: Buffer.from('c-elsewhere') },
            });
            await waitFor(() => expect(replies).toHaveLength(3));
            const denied = replies[2];
            expect(JSON.parse(String(denied?.payload))).toMatchObject({ code: 'AccessDenied' });
            expect(denied?.properties?.userProperties).toMatchObject({ 'x-fc-status': '403', 'x-fc-error-code': 'AccessDenied' });
            // The gateway answers a request once, on one topic: the denial came on the caller's own.
            expect(elsewhere).toEqual([]);
          } finally {
            await bystander.endAsync();
          }
        } finally {
          await v5.endAsync();
        }
      });
    });

    describe('admin operations', () => {
      it('lists services and functions and reports stats', async () => {
        const admin = new AdminClient({ brokerUrl: env.url, timeoutMs: 5000 });
        try {
          const list = (await admin.call('list')) as { services: { name: string; functions: { name: string }[] }[] };
          const names = list.services.flatMap((s) => s.functions.map((f) => `${s.name}/${f.name}`));
          expect(names).toEqual(expect.arrayContaining(['EdgeFC/helloworld', 'EdgeFC/invoker', 'Test/marker']));
          const stats = (await admin.call('stats')) as { functions: { service: string; function: string; completed: number }[] };
          expect(stats.functions.find((f) => f.service === 'EdgeFC' && f.function === 'helloworld')?.completed).toBeGreaterThan(0);
          expect(await rejectionOf(admin.call('nope'))).toMatchObject({ code: 'InvalidArgument' });
        } finally {
          await admin.close();
        }
      });
    });
  });
}
