/**
 * Span export through the OpenTelemetry SDK (docs/operations.md §4) to a real OTLP/HTTP receiver
 * (test/fixtures/otlp-collector.ts): a device's call to a function that calls another is one
 * trace, exported spans link parent to child across the two invocations, and what the functions
 * and the Async records saw is those spans' context. Errors carry their code; the headers reach
 * the collector and never the log.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import type { FCClient } from '../../src/index.js';
import { startOtlpCollector, SpanKindNumber, STATUS_ERROR, type OtlpCollector, type ReceivedSpan } from '../fixtures/otlp-collector.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';
import { waitFor } from '../fixtures/wait.js';

const FIXTURES = new URL('../fixtures/gateway-functions/', import.meta.url).pathname;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const DEVICE_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${DEVICE_SPAN}-01`;
const SECRET_HEADER = 'Bearer otlp-secret-5e1f';

interface Tracing {
  traceparent: string;
  tracestate: string;
}
interface CallerAnswer {
  tracing: Tracing;
  callee?: Tracing;
  innerRequestId: string;
}

async function traceTemplate(): Promise<string> {
  const dir = await traversableTempDir('edgefc-trace-export-');
  const fn = (code: string, extra = ''): string => `        runtime: nodejs20\n        handler: index.handler\n        codeUri: ${JSON.stringify(join(FIXTURES, code))}\n${extra}`;
  const path = join(dir, 'template.yml');
  await writeFile(
    path,
    `edgefc: 1
services:
  Trace:
    functions:
      caller:
${fn('trace-caller', '        timeout: 10\n')}
      callee:
${fn('trace-callee')}
      fail:
${fn('fail', '        asyncConfiguration:\n          maxAsyncRetryAttempts: 0\n')}
`,
  );
  return path;
}

describe('span export to an OTLP/HTTP collector', () => {
  let collector: OtlpCollector;
  let env: TestGateway;
  let client: FCClient;
  let admin: AdminClient;

  beforeAll(async () => {
    collector = await startOtlpCollector();
    env = await startTestGateway({
      templatePath: await traceTemplate(),
      gateway: {
        traceExport: { url: `${collector.url}/v1/traces`, headers: { authorization: SECRET_HEADER }, serviceName: 'edgefc-test', scheduledDelayMs: 20 },
        metrics: { host: '127.0.0.1', port: 0 },
      },
    });
    client = env.client();
    admin = new AdminClient({ brokerUrl: env.url, timeoutMs: 5000 });
  });

  afterAll(async () => {
    await admin?.close();
    await env?.stop();
    await collector?.close();
  });

  const spansOf = (requestId: string): ReceivedSpan[] => collector.spans.filter((s) => s.attributes['faas.invocation_id'] === requestId);
  const oneSpan = async (requestId: string, name: string): Promise<ReceivedSpan> => {
    await waitFor(() => expect(spansOf(requestId).filter((s) => s.name === name)).toHaveLength(1), { timeout: 10_000, interval: 20 });
    return spansOf(requestId).find((s) => s.name === name)!;
  };

  it('a Sync call to a function that calls another: one trace, the callee\'s span the child of the caller\'s', async () => {
    const reply = await client.invokeFunction({ serviceName: 'Trace', functionName: 'caller', payload: JSON.stringify({ mode: 'Sync' }), traceparent: TRACEPARENT, tracestate: 'edgefc=test' });
    const answer = JSON.parse(String(reply.payload)) as CallerAnswer;
    const outer = await oneSpan(reply.requestId, 'Trace/caller');
    // The inner call's request ID is made by the caller's FCClient; find its span by parent.
    await waitFor(() => expect(collector.spans.some((s) => s.parentSpanId === outer.spanId)).toBe(true), { timeout: 10_000, interval: 20 });
    const inner = collector.spans.find((s) => s.parentSpanId === outer.spanId)!;

    expect(outer).toMatchObject({ traceId: TRACE_ID, parentSpanId: DEVICE_SPAN, kind: SpanKindNumber.SERVER, scope: 'edgefc' });
    expect(inner).toMatchObject({ traceId: TRACE_ID, name: 'Trace/callee', kind: SpanKindNumber.SERVER });
    expect(outer.attributes).toMatchObject({
      'faas.invoked_name': 'Trace/caller',
      'faas.trigger': 'other',
      'faas.invocation_id': reply.requestId,
      'faas.coldstart': expect.any(Boolean),
      'edgefc.invocation_type': 'Sync',
    });
    expect(inner.attributes['faas.invocation_id']).toBe(answer.innerRequestId);
    expect(outer.status.code).not.toBe(STATUS_ERROR);
    expect(outer.resource).toMatchObject({ 'service.name': 'edgefc-test', 'service.version': expect.any(String) });

    // Each function ran inside its own span: that is the parent its context names.
    expect(answer.tracing.traceparent).toBe(`00-${TRACE_ID}-${outer.spanId}-01`);
    expect(answer.tracing.tracestate).toBe('edgefc=test');
    expect(answer.callee!.traceparent).toBe(`00-${TRACE_ID}-${inner.spanId}-01`);
    expect(answer.callee!.tracestate).toBe('edgefc=test');
  });

  it('the first call of an instance is a cold start, the next one is not', async () => {
    const first = await client.invokeFunction({ serviceName: 'Trace', functionName: 'fail', payload: 'ok please' });
    const second = await client.invokeFunction({ serviceName: 'Trace', functionName: 'fail', payload: 'ok please' });
    expect((await oneSpan(first.requestId, 'Trace/fail')).attributes['faas.coldstart']).toBe(true);
    expect((await oneSpan(second.requestId, 'Trace/fail')).attributes['faas.coldstart']).toBe(false);
  });

  it('a failed call\'s span carries its error code and status ERROR', async () => {
    const error = (await client.invokeFunction({ serviceName: 'Trace', functionName: 'fail', payload: 'throw', requestId: 'failing-call-1' }).catch((e: unknown) => e)) as { code: string };
    expect(error.code).toMatch(/^[A-Z]\w+$/);
    const span = await oneSpan('failing-call-1', 'Trace/fail');
    expect(span.attributes['error.type']).toBe(error.code);
    expect(span.status).toMatchObject({ code: STATUS_ERROR, message: expect.stringContaining('thrown by the handler') });
  });

  it('Async: the intake\'s span, then a CONSUMER span per attempt under it; both records and both functions in the one trace', async () => {
    const innerRequestId = `inner-${Date.now()}`;
    const outer = await client.invokeFunction({
      serviceName: 'Trace',
      functionName: 'caller',
      invocationType: 'Async',
      payload: JSON.stringify({ mode: 'Async', innerRequestId }),
      traceparent: TRACEPARENT,
    });
    const outerIntake = await oneSpan(outer.requestId, 'accept Trace/caller');
    const outerRun = await oneSpan(outer.requestId, 'Trace/caller');
    const innerIntake = await oneSpan(innerRequestId, 'accept Trace/callee');
    const innerRun = await oneSpan(innerRequestId, 'Trace/callee');
    expect(outerIntake).toMatchObject({ traceId: TRACE_ID, parentSpanId: DEVICE_SPAN, kind: SpanKindNumber.SERVER });
    expect(outerRun).toMatchObject({ traceId: TRACE_ID, parentSpanId: outerIntake.spanId, kind: SpanKindNumber.CONSUMER });
    expect(outerRun.attributes).toMatchObject({ 'edgefc.invocation_type': 'Async', 'edgefc.retry_count': 0, 'faas.trigger': 'other' });
    expect(innerIntake).toMatchObject({ traceId: TRACE_ID, parentSpanId: outerRun.spanId });
    expect(innerRun).toMatchObject({ traceId: TRACE_ID, parentSpanId: innerIntake.spanId, kind: SpanKindNumber.CONSUMER });

    type View = { state: string; traceparent?: string; result?: string };
    const recordOf = async (requestId: string): Promise<View | undefined> => ((await admin.call('invocations-get', { requestId })) as { invocations: View[] }).invocations[0];
    await waitFor(async () => expect((await recordOf(innerRequestId))?.state).toBe('succeeded'), { timeout: 10_000, interval: 50 });
    const outerRecord = (await recordOf(outer.requestId))!;
    const innerRecord = (await recordOf(innerRequestId))!;
    // A record keeps its intake's context; the function saw its attempt's.
    expect(outerRecord.traceparent).toBe(`00-${TRACE_ID}-${outerIntake.spanId}-01`);
    expect(innerRecord.traceparent).toBe(`00-${TRACE_ID}-${innerIntake.spanId}-01`);
    expect((JSON.parse(outerRecord.result!) as CallerAnswer).tracing.traceparent).toBe(`00-${TRACE_ID}-${outerRun.spanId}-01`);
    expect((JSON.parse(innerRecord.result!) as { tracing: Tracing }).tracing.traceparent).toBe(`00-${TRACE_ID}-${innerRun.spanId}-01`);
  });

  it('an Async attempt that fails carries the code and its retry count', async () => {
    const accepted = await client.invokeFunction({ serviceName: 'Trace', functionName: 'fail', invocationType: 'Async', payload: 'handled' });
    const run = await oneSpan(accepted.requestId, 'Trace/fail');
    expect(run.kind).toBe(SpanKindNumber.CONSUMER);
    expect(run.attributes).toMatchObject({ 'edgefc.retry_count': 0, 'error.type': expect.stringMatching(/^[A-Z]\w+$/) });
    expect(run.status.code).toBe(STATUS_ERROR);
  });

  it('a call without trace context starts a trace at the gateway, and the function runs in it', async () => {
    const plain = env.client({ traceContext: false });
    const reply = await plain.invokeFunction({ serviceName: 'Trace', functionName: 'callee' });
    const span = await oneSpan(reply.requestId, 'Trace/callee');
    expect(span.parentSpanId).toBe('');
    expect((JSON.parse(String(reply.payload)) as { tracing: Tracing }).tracing.traceparent).toBe(`00-${span.traceId}-${span.spanId}-01`);
  });

  it('sends the configured headers to the collector, never to the log; counts exported spans in /metrics', async () => {
    expect(collector.requests.length).toBeGreaterThan(0);
    expect(collector.requests.every((headers) => headers['authorization'] === SECRET_HEADER)).toBe(true);
    expect(env.lines.join('\n')).not.toContain('otlp-secret');
    const token = (await readFile(join(env.dataDir, 'metrics.token'), 'utf8')).trim();
    const sample = async (name: string): Promise<number> => {
      const text = await (await fetch(`${env.gateway.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      return Number(parsePrometheusTextFormat(text).find((f) => f.name === name)?.metrics[0]?.value);
    };
    // Counted once the collector's answer is in, a moment after it has the spans.
    const received = collector.spans.length;
    await waitFor(async () => expect(await sample('edgefc_trace_spans_exported_total')).toBeGreaterThanOrEqual(received), { timeout: 5000, interval: 20 });
    expect(await sample('edgefc_trace_spans_dropped_total')).toBe(0);
  });
});
