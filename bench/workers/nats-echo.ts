/**
 * Bench worker: the cluster's floor (bench/scenarios/cluster.ts). A nats.js client in the
 * gateways' queue group that answers every request with its own event, as the gateway's reply
 * envelope, on the device's reply subject: the same path through nats-server's MQTT listener as
 * a gateway (device MQTT → listener → native subscriber → native reply → device), with no
 * dispatch and no function.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeRequest, encodeOkReply } from 'edgefc/protocol';
import { GATEWAY_QUEUE_GROUP } from '../../gateway/transport/nats-link.js';
import { serve } from '../lib/ipc.js';

let nc: NatsConnection | undefined;
let answered = 0;

serve({
  start: async (args: { servers: string[]; username: string; password: string }): Promise<{ pid: number }> => {
    const connection = await connect({ servers: args.servers, user: args.username, pass: args.password });
    nc = connection;
    connection.subscribe('edgefc.v1.invoke.*.*.*', {
      queue: GATEWAY_QUEUE_GROUP,
      callback: (error, msg) => {
        if (error !== null) return;
        const request = decodeRequest(Buffer.from(msg.data));
        answered += 1;
        connection.publish(`edgefc.v1.reply.${msg.subject.split('.')[3] ?? ''}`, encodeOkReply(request.requestId, request.event, false));
      },
    });
    await connection.flush();
    return { pid: process.pid };
  },
  usage: (): { cpuUs: number; rssBytes: number; answered: number } => {
    const cpu = process.cpuUsage();
    return { cpuUs: cpu.user + cpu.system, rssBytes: process.memoryUsage().rss, answered };
  },
  /** Out of the queue group, with every answer sent, before a gateway takes its place. */
  stop: async (): Promise<void> => {
    await nc?.drain();
    nc = undefined;
  },
});
