/**
 * Spans of plain MQTT 5 requests (docs/protocol.md §8.6), through Mosquitto (aedes speaks no
 * MQTT 5) to a real OTLP/HTTP receiver: the `traceparent` user property is the span's parent and
 * the function runs in the span; without one the gateway starts a trace; a malformed one is
 * dropped, never refused.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoTestBroker, type RunningBroker } from '../fixtures/brokers.js';
import { startOtlpCollector, SpanKindNumber, type OtlpCollector, type ReceivedSpan } from '../fixtures/otlp-collector.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';
import { waitFor } from '../fixtures/wait.js';

const CALLEE = new URL('../fixtures/gateway-functions/trace-callee', import.meta.url).pathname;
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const TRACEPARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;

describe('spans of plain MQTT 5 requests', () => {
  let broker: RunningBroker<MosquittoTestBroker>;
  let collector: OtlpCollector;
  let env: TestGateway;
  let v5: mqtt.MqttClient;
  const replies = new Map<string, string>();

  beforeAll(async () => {
    broker = await startMosquitto();
    collector = await startOtlpCollector();
    const dir = await traversableTempDir('edgefc-otlp-v5-');
    const templatePath = join(dir, 'template.yml');
    await writeFile(templatePath, `edgefc: 1\nservices:\n  Trace:\n    functions:\n      callee:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ${JSON.stringify(CALLEE)}\n`);
    env = await startTestGateway({
      brokerUrl: broker.url,
      templatePath,
      gateway: { traceExport: { url: `${collector.url}/v1/traces`, headers: {}, serviceName: 'edgefc-test', scheduledDelayMs: 20 } },
    });
    v5 = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'v5_trace' });
    await v5.subscribeAsync('edgefc/v1/reply/v5_trace/#', { qos: 1 });
    v5.on('message', (_topic, payload, packet) => replies.set(String(packet.properties?.correlationData), String(payload)));
  }, 60_000);

  afterAll(async () => {
    await v5?.endAsync();
    await env?.stop();
    await collector?.close();
    await broker?.close();
  });

  /** Ask Trace/callee; answers the traceparent it ran with and its span. */
  const ask = async (correlation: string, userProperties?: Record<string, string>): Promise<{ seen: string; span: ReceivedSpan }> => {
    const before = collector.spans.length;
    await v5.publishAsync('edgefc/v1/invoke/v5_trace/Trace/callee', 'hi', {
      qos: 1,
      properties: { responseTopic: 'edgefc/v1/reply/v5_trace/rr', correlationData: Buffer.from(correlation), ...(userProperties === undefined ? {} : { userProperties }) },
    });
    await waitFor(() => expect(replies.has(correlation)).toBe(true), { timeout: 10_000, interval: 20 });
    const seen = (JSON.parse(replies.get(correlation)!) as { tracing: { traceparent: string } }).tracing.traceparent;
    await waitFor(() => expect(collector.spans.slice(before).some((s) => seen.includes(s.spanId))).toBe(true), { timeout: 10_000, interval: 20 });
    return { seen, span: collector.spans.find((s) => seen === `00-${s.traceId}-${s.spanId}-01`)! };
  };

  it('a traceparent user property is the parent of the call\'s SERVER span, in which the function runs', async () => {
    const { seen, span } = await ask('with', { traceparent: TRACEPARENT, tracestate: 'v=1' });
    expect(span).toMatchObject({ traceId: TRACE_ID, parentSpanId: 'b7ad6b7169203331', kind: SpanKindNumber.SERVER, name: 'Trace/callee' });
    expect(span.attributes).toMatchObject({ 'faas.invoked_name': 'Trace/callee', 'edgefc.invocation_type': 'Sync', 'faas.invocation_id': expect.any(String) });
    expect(seen).toBe(`00-${TRACE_ID}-${span.spanId}-01`);
  });

  it('without one, or with a malformed one, the gateway starts a trace and the call runs', async () => {
    for (const [correlation, properties] of [['none', undefined], ['bad', { traceparent: 'not-a-traceparent' }]] as const) {
      const { span } = await ask(correlation, properties);
      expect(span.parentSpanId).toBe('');
      expect(span.traceId).not.toBe(TRACE_ID);
    }
  });
});
