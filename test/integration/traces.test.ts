/**
 * W3C trace context end to end (docs/protocol.md §3.7): a device's call to a function that calls
 * another through linkedge-core-sdk carries one trace ID through both functions' contexts, and
 * onto both Async records when the inner call is Async.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import type { FCClient } from '../../src/index.js';
import { parseTraceparent } from '../../src/protocol/trace-context.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';
import { waitFor } from '../fixtures/wait.js';

const FIXTURES = new URL('../fixtures/gateway-functions/', import.meta.url).pathname;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

interface Tracing {
  traceparent: string;
  tracestate: string;
  openTracingSpanContext: string;
}
interface CallerAnswer {
  tracing: Tracing;
  callee?: Tracing;
  innerRequestId: string;
}

const traceIdOf = (traceparent: string): string | undefined => parseTraceparent(traceparent)?.traceId;

function template(): string {
  const fn = (dir: string, extra = ''): string =>
    `        runtime: nodejs20\n        handler: index.handler\n        codeUri: ${JSON.stringify(join(FIXTURES, dir))}\n${extra}`;
  return `edgefc: 1
services:
  Trace:
    functions:
      caller:
${fn('trace-caller', '        timeout: 10\n        maxInstances: 1\n        instanceConcurrency: 4\n')}
      callee:
${fn('trace-callee')}
      callerinside:
${fn('trace-caller', '        timeout: 10\n        isolation: none\n')}
`;
}

describe('trace context through function-to-function calls', () => {
  let env: TestGateway;
  let client: FCClient;
  let admin: AdminClient;

  beforeAll(async () => {
    const dir = await traversableTempDir('edgefc-traces-');
    const templatePath = join(dir, 'template.yml');
    await writeFile(templatePath, template());
    env = await startTestGateway({ templatePath });
    client = env.client();
    admin = new AdminClient({ brokerUrl: env.url, timeoutMs: 5000 });
  });

  afterAll(async () => {
    await admin?.close();
    await env?.stop();
  });

  const callCaller = async (event: Record<string, unknown>, traceparent?: string): Promise<CallerAnswer> => {
    const { payload } = await client.invokeFunction({
      serviceName: 'Trace',
      functionName: 'caller',
      payload: JSON.stringify(event),
      ...(traceparent === undefined ? {} : { traceparent, tracestate: 'edgefc=test' }),
    });
    return JSON.parse(String(payload)) as CallerAnswer;
  };

  it('a Sync inner call: the caller\'s trace reaches both functions, passed on unchanged when no span is recorded (§3.7.4)', async () => {
    const answer = await callCaller({ mode: 'Sync' }, TRACEPARENT);
    expect(answer.tracing).toMatchObject({ traceparent: TRACEPARENT, tracestate: 'edgefc=test', openTracingSpanContext: `${TRACE_ID}:00f067aa0ba902b7:0:01` });
    // This gateway exports no spans, so nobody recorded one in between: the parent is still the
    // device's (test/integration/trace-export.test.ts: with export, each function's is its own span).
    expect(answer.callee!.traceparent).toBe(TRACEPARENT);
    expect(answer.callee!.tracestate).toBe('edgefc=test');
  });

  it('without a traceparent the client starts a new trace per top-level call, still one through both functions', async () => {
    const first = await callCaller({ mode: 'Sync' });
    const second = await callCaller({ mode: 'Sync' });
    const firstId = traceIdOf(first.tracing.traceparent);
    expect(firstId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIdOf(first.callee!.traceparent)).toBe(firstId);
    expect(traceIdOf(second.tracing.traceparent)).not.toBe(firstId);
    expect(traceIdOf(second.callee!.traceparent)).toBe(traceIdOf(second.tracing.traceparent));
  });

  it('the same through a function run inside the gateway process (isolation: none)', async () => {
    const { payload } = await client.invokeFunction({ serviceName: 'Trace', functionName: 'callerinside', payload: JSON.stringify({ mode: 'Sync' }), traceparent: TRACEPARENT });
    const answer = JSON.parse(String(payload)) as CallerAnswer;
    expect(answer.tracing.traceparent).toBe(TRACEPARENT);
    expect(answer.callee!.traceparent).toBe(TRACEPARENT);
  });

  it('concurrent calls on one instance keep their own traces (AsyncLocalStorage, not a shared variable)', async () => {
    const ids = ['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331b7ad6b7169203331', '11111111111111111111111111111111'];
    const answers = await Promise.all(ids.map((id, i) => callCaller({ mode: 'Sync', delayMs: 30 - i * 10 }, `00-${id}-00f067aa0ba902b7-01`)));
    expect(answers.map((a) => traceIdOf(a.callee!.traceparent))).toEqual(ids);
  });

  it('an Async inner call: both Async records carry the trace, and the callee ran in it', async () => {
    const outer = await client.invokeFunction({
      serviceName: 'Trace',
      functionName: 'caller',
      invocationType: 'Async',
      payload: JSON.stringify({ mode: 'Async', innerRequestId: `inner-${Date.now()}` }),
      traceparent: TRACEPARENT,
    });
    type View = { state: string; traceparent?: string; result?: string };
    const recordOf = async (requestId: string): Promise<View | undefined> =>
      ((await admin.call('invocations-get', { requestId })) as { invocations: View[] }).invocations[0];
    await waitFor(async () => expect((await recordOf(outer.requestId))?.state).toBe('succeeded'), { timeout: 10_000, interval: 50 });
    const outerRecord = (await recordOf(outer.requestId))!;
    expect(outerRecord.traceparent).toBe(TRACEPARENT);
    const { innerRequestId } = JSON.parse(outerRecord.result!) as CallerAnswer;
    await waitFor(async () => expect((await recordOf(innerRequestId))?.state).toBe('succeeded'), { timeout: 10_000, interval: 50 });
    const innerRecord = (await recordOf(innerRequestId))!;
    expect(traceIdOf(innerRecord.traceparent!)).toBe(TRACE_ID);
    const callee = JSON.parse(innerRecord.result!) as { tracing: Tracing };
    expect(callee.tracing.traceparent).toBe(innerRecord.traceparent);
  });

  it('a client with traceContext: false sends none unless a call passes one', async () => {
    const plain = env.client({ traceContext: false });
    const seen = async (extra: { traceparent?: string }): Promise<Tracing> =>
      (JSON.parse(String((await plain.invokeFunction({ serviceName: 'Trace', functionName: 'callee', ...extra })).payload)) as { tracing: Tracing }).tracing;
    expect(await seen({})).toMatchObject({ traceparent: '', tracestate: '', openTracingSpanContext: '' });
    expect((await seen({ traceparent: TRACEPARENT })).traceparent).toBe(TRACEPARENT);
  });

  it('FCClient refuses a malformed traceparent up front (the gateway drops one a raw client sends: test/unit/trace-context.test.ts)', async () => {
    await expect(client.invokeFunction({ serviceName: 'Trace', functionName: 'callee', traceparent: 'nonsense' })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
