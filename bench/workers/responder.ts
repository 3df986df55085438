/**
 * Bench worker: the baseline. A plain MQTT.js client that answers requests with their own
 * bytes, through the same broker as the gateway: the floor a gateway is measured against.
 *
 * - MQTT 3.1.1 style: request on `bench/echo/{clientId}`, reply on `bench/reply/{clientId}`
 *   (the requester puts its correlation ID in the payload; the echo sends it back).
 * - MQTT 5 style: request on `bench/rr/{clientId}` with Response Topic and Correlation Data; the
 *   reply goes to the Response Topic with the same Correlation Data (protocol.md §8 does the same).
 * QoS 1 both ways, TCP_NODELAY (src/mqtt/connect.ts), like the gateway.
 *
 * `direct` (bench/direct-ab.ts, issue 14's moonshot): a stand-in for a function instance that
 * takes its calls from the broker itself: it subscribes to the bench echo's invoke topics
 * (protocol.md §2.1), decodes each request envelope (§3), runs functions/echo's handler and
 * answers on the caller's reply topic (§4): the data path with the gateway out of it.
 */
import type { MqttClient } from 'mqtt';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { connectMqtt } from 'edgefc/mqtt';
import { decodeRequest, encodeErrorReply, encodeOkReply, parseInvokeTopic, replyTopic, TOPIC_PREFIX } from 'edgefc/protocol';
import { toEdgeFCError } from 'edgefc/errors';
import { PACKAGE_ROOT } from '../../gateway/package-root.js';
import { BENCH_SERVICE, ECHO_FUNCTION } from '../lib/templates.js';
import { RAW_REPLY_PREFIX, RAW_REQUEST_PREFIX, RR_REQUEST_PREFIX } from '../lib/bench-topics.js';
import { serve } from '../lib/ipc.js';

let client: MqttClient | undefined;
let answered = 0;

serve({
  start: async (args: { url: string; mqtt5: boolean; direct?: boolean; ca?: string; login?: { username: string; password: string } }): Promise<{ pid: number }> => {
    client = await connectMqtt(args.url, {
      // With a login, the client ID must be the principal's name or name_suffix (security.md §2.1).
      clientId: args.login === undefined ? `bench-responder-${process.pid}` : `${args.login.username}_${process.pid}`,
      ...args.login,
      ...(args.ca === undefined ? {} : { ca: args.ca }),
      protocolVersion: args.mqtt5 ? 5 : 4,
      connectTimeoutMs: 5_000,
    });
    const mqtt = client;
    if (args.direct === true) {
      await serveDirect(mqtt);
      return { pid: process.pid };
    }
    mqtt.on('message', (topic, payload, packet) => {
      answered += 1;
      const responseTopic = packet.properties?.responseTopic;
      if (responseTopic !== undefined) {
        const correlationData = packet.properties?.correlationData;
        mqtt.publish(responseTopic, payload, { qos: 1, properties: correlationData === undefined ? {} : { correlationData } });
        return;
      }
      // At the request's QoS: a QoS 0 raw echo is the floor of FCClient's QoS 0 Sync requests
      // and QoS 0 replies (protocol.md §1.2); the QoS 1 one, of a QoS 1 client.
      mqtt.publish(RAW_REPLY_PREFIX + topic.slice(RAW_REQUEST_PREFIX.length), payload, { qos: packet.qos === 0 ? 0 : 1 });
    });
    await mqtt.subscribeAsync(args.mqtt5 ? [`${RAW_REQUEST_PREFIX}+`, `${RR_REQUEST_PREFIX}+`] : [`${RAW_REQUEST_PREFIX}+`], { qos: 1 });
    return { pid: process.pid };
  },
  usage: (): { cpuUs: number; rssBytes: number; answered: number } => {
    const cpu = process.cpuUsage();
    return { cpuUs: cpu.user + cpu.system, rssBytes: process.memoryUsage().rss, answered };
  },
  stop: async (): Promise<void> => {
    await client?.endAsync(true);
    client = undefined;
  },
});

type Handler = (event: Buffer, context: unknown, callback: (error: unknown, result?: unknown) => void) => void;

/** The `direct` mode: the bench echo's calls taken, run and answered here (see the header). */
async function serveDirect(mqtt: MqttClient): Promise<void> {
  const handler = (createRequire(import.meta.url)(join(PACKAGE_ROOT, 'functions', 'echo', 'index.js')) as { handler: Handler }).handler;
  mqtt.on('message', (topic, payload) => {
    answered += 1;
    const address = parseInvokeTopic(topic);
    if (address === undefined) return;
    let requestId = '';
    try {
      const request = decodeRequest(payload);
      requestId = request.requestId;
      const { event } = request;
      handler(event, { requestId }, (error, result) => {
        const reply = error === null || error === undefined
          ? encodeOkReply(requestId, Buffer.isBuffer(result) ? result : Buffer.from(String(result)), Buffer.isBuffer(result))
          : encodeErrorReply(requestId, toEdgeFCError(error).toWire());
        mqtt.publish(replyTopic(address.clientId), reply, { qos: 1 });
      });
    } catch (error) {
      mqtt.publish(replyTopic(address.clientId), encodeErrorReply(requestId, toEdgeFCError(error).toWire()), { qos: 1 });
    }
  });
  await mqtt.subscribeAsync(`${TOPIC_PREFIX}/invoke/+/${BENCH_SERVICE}/${ECHO_FUNCTION}`, { qos: 1 });
}
