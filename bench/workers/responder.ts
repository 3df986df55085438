/**
 * Bench worker: the baseline. A plain MQTT.js client that answers requests with their own
 * bytes, through the same broker as the gateway: the floor a gateway is measured against.
 *
 * - MQTT 3.1.1 style: request on `bench/echo/{clientId}`, reply on `bench/reply/{clientId}`
 *   (the requester puts its correlation ID in the payload; the echo sends it back).
 * - MQTT 5 style: request on `bench/rr/{clientId}` with Response Topic and Correlation Data; the
 *   reply goes to the Response Topic with the same Correlation Data (protocol.md §8 does the same).
 * QoS 1 both ways, TCP_NODELAY (src/mqtt/connect.ts), like the gateway.
 */
import type { MqttClient } from 'mqtt';
import { connectMqtt } from 'edgefc/mqtt';
import { RAW_REPLY_PREFIX, RAW_REQUEST_PREFIX, RR_REQUEST_PREFIX } from '../lib/bench-topics.js';
import { serve } from '../lib/ipc.js';

let client: MqttClient | undefined;
let answered = 0;

serve({
  start: async (args: { url: string; mqtt5: boolean; login?: { username: string; password: string } }): Promise<{ pid: number }> => {
    client = await connectMqtt(args.url, {
      // With a login, the client ID must be the principal's name or name_suffix (security.md §2.1).
      clientId: args.login === undefined ? `bench-responder-${process.pid}` : `${args.login.username}_${process.pid}`,
      ...args.login,
      protocolVersion: args.mqtt5 ? 5 : 4,
      connectTimeoutMs: 5_000,
    });
    const mqtt = client;
    mqtt.on('message', (topic, payload, packet) => {
      answered += 1;
      const responseTopic = packet.properties?.responseTopic;
      if (responseTopic !== undefined) {
        const correlationData = packet.properties?.correlationData;
        mqtt.publish(responseTopic, payload, { qos: 1, properties: correlationData === undefined ? {} : { correlationData } });
        return;
      }
      mqtt.publish(RAW_REPLY_PREFIX + topic.slice(RAW_REQUEST_PREFIX.length), payload, { qos: 1 });
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
