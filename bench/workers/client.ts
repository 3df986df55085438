/**
 * Bench worker: load generator. Runs in its own process so the client's CPU is not hidden in the
 * gateway's (or the other way round). One process holds one or many MQTT connections.
 *
 * Protocols (same event bytes for all):
 * - `fc`: the SDK, FCClient.invokeFunction (envelope, docs/protocol.md §3-§4).
 * - `raw`: plain MQTT.js request/reply to workers/responder.ts, correlation ID in the payload.
 * - `mqtt5-gateway` / `mqtt5-raw`: one MQTT 5 client with Response Topic + Correlation Data,
 *   to the gateway (§8) or to the raw responder; the client code is identical, only the topic differs.
 *
 * Loops:
 * - closed: `inFlight` calls outstanding, each reply sends the next (throughput, and latency at
 *   that concurrency);
 * - open: calls start on a fixed schedule whatever the replies do, and latency is measured from
 *   the intended start, so a stall is charged to every call it delayed (no coordinated
 *   omission). Node timers have ~1 ms resolution: the scheduler's own lateness is reported
 *   separately (`lateness`) so it can be told apart from the system's.
 */
import type { MqttClient } from 'mqtt';
import { FCClient } from 'edgefc';
import { connectMqtt } from 'edgefc/mqtt';
import { replyTopic as gatewayReplyTopic, invokeTopic } from 'edgefc/protocol';
import { RAW_REPLY_PREFIX, RAW_REQUEST_PREFIX, RR_REPLY_PREFIX, RR_REQUEST_PREFIX } from '../lib/bench-topics.js';
import { Histogram, type HistogramJson } from '../lib/histogram.js';
import { serve } from '../lib/ipc.js';

export type ClientProtocol = 'fc' | 'raw' | 'mqtt5-gateway' | 'mqtt5-raw';

export interface ConnectArgs {
  protocol: ClientProtocol;
  url: string;
  /** Function to call (fc, mqtt5-gateway). */
  service: string;
  fn: string;
  connections: number;
  /** Client IDs are this prefix and the connection's number; with a login, `<username>_`. */
  clientIdPrefix: string;
  /** Authentication on (bench-logins.ts): every connection of this process is this principal. */
  login?: { username: string; password: string };
  /** fc only: FCClient's `syncRequestQos` (the cluster scenario measures both). Unset: FCClient's default, 0. */
  syncRequestQos?: 0 | 1;
  /** raw only: the requests' QoS; the responder answers at the QoS it received. @default 1 */
  rawQos?: 0 | 1;
  /** mqtts:// brokers: the CA (PEM) that signed the broker's certificate. */
  ca?: string;
}

export interface RunArgs {
  mode: 'closed' | 'open';
  /** closed: calls outstanding in this process. */
  inFlight: number;
  /** open: calls per second started by this process, spread round-robin over its connections. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  payloadBytes: number;
  timeoutMs: number;
}

export interface RunResult {
  /** closed: from send; open: from the intended send time. */
  latency: HistogramJson;
  /** open only: actual send − intended send (the scheduler's own delay). */
  lateness: HistogramJson | undefined;
  /** Calls completed (ok) inside the measured window. */
  completed: number;
  /** Every call completed (ok or not), warm-up included: divide CPU deltas of a whole run by it. */
  total: number;
  errors: number;
  errorSamples: string[];
  windowMs: number;
}

type Done = (error?: Error) => void;

interface Requester {
  send(payload: Buffer, timeoutMs: number, done: Done): void;
  close(): Promise<void>;
}

class FcRequester implements Requester {
  constructor(
    private readonly client: FCClient,
    private readonly service: string,
    private readonly fn: string,
  ) {}

  send(payload: Buffer, timeoutMs: number, done: Done, fn = this.fn): void {
    this.client
      .invokeFunction({ serviceName: this.service, functionName: fn, payload, timeout: timeoutMs })
      .then(
        () => done(),
        (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
      );
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * Raw request/reply over one MQTT.js connection: a counter as correlation ID, a Map of callbacks,
 * and one sweep timer for timeouts instead of a timer per call: the least a plain client can do.
 */
class RawRequester implements Requester {
  readonly #pending = new Map<number, { done: Done; deadline: number }>();
  readonly #sweep: NodeJS.Timeout;
  #next = 1;

  constructor(
    private readonly mqtt: MqttClient,
    private readonly requestTopic: string,
    private readonly v5ReplyTopic: string | undefined,
    private readonly qos: 0 | 1 = 1,
  ) {
    mqtt.on('message', (_topic, payload, packet) => {
      const correlation = this.v5ReplyTopic === undefined ? payload : packet.properties?.correlationData;
      if (correlation === undefined || correlation.length < 4) return;
      const id = correlation.readUInt32BE(0);
      const entry = this.#pending.get(id);
      if (entry === undefined) return;
      this.#pending.delete(id);
      const status = packet.properties?.userProperties?.['x-fc-status'];
      entry.done(status === undefined || status === '200' ? undefined : new Error(`x-fc-status ${String(status)}: ${payload.toString()}`));
    });
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const [id, entry] of this.#pending) {
        if (entry.deadline <= now) {
          this.#pending.delete(id);
          entry.done(new Error('RequestTimeout (raw)'));
        }
      }
    }, 250);
  }

  send(payload: Buffer, timeoutMs: number, done: Done): void {
    const id = this.#next++;
    this.#pending.set(id, { done, deadline: Date.now() + timeoutMs });
    const correlation = Buffer.allocUnsafe(4);
    correlation.writeUInt32BE(id >>> 0, 0);
    if (this.v5ReplyTopic === undefined) {
      this.mqtt.publish(this.requestTopic, Buffer.concat([correlation, payload]), { qos: this.qos });
    } else {
      this.mqtt.publish(this.requestTopic, payload, {
        qos: 1,
        properties: { responseTopic: this.v5ReplyTopic, correlationData: correlation },
      });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    await this.mqtt.endAsync(true);
  }
}

async function openRequester(args: ConnectArgs, clientId: string): Promise<Requester> {
  switch (args.protocol) {
    case 'fc': {
      const client = new FCClient({
        brokerUrl: args.url,
        clientId,
        timeout: 30_000,
        ...args.login,
        ...(args.syncRequestQos === undefined ? {} : { syncRequestQos: args.syncRequestQos }),
        ...(args.ca === undefined ? {} : { tls: { ca: args.ca } }),
      });
      await client.connect();
      return new FcRequester(client, args.service, args.fn);
    }
    case 'raw': {
      const mqtt = await connectMqtt(args.url, { clientId, protocolVersion: 4, connectTimeoutMs: 10_000, ...args.login, ...(args.ca === undefined ? {} : { ca: args.ca }) });
      await mqtt.subscribeAsync(RAW_REPLY_PREFIX + clientId, { qos: 1 });
      return new RawRequester(mqtt, RAW_REQUEST_PREFIX + clientId, undefined, args.rawQos ?? 1);
    }
    case 'mqtt5-gateway':
    case 'mqtt5-raw': {
      const mqtt = await connectMqtt(args.url, { clientId, protocolVersion: 5, connectTimeoutMs: 10_000, ...args.login });
      // §8.5: a plain request through the gateway must name the caller's own reply topic, whose
      // address is the principal's name when it logs in (security.md §2.1).
      const address = args.login?.username ?? clientId;
      const replyTopic = args.protocol === 'mqtt5-raw' ? RR_REPLY_PREFIX + clientId : gatewayReplyTopic(address);
      await mqtt.subscribeAsync(replyTopic, { qos: 1 });
      const requestTopic = args.protocol === 'mqtt5-raw' ? RR_REQUEST_PREFIX + clientId : invokeTopic(address, args.service, args.fn);
      return new RawRequester(mqtt, requestTopic, replyTopic);
    }
  }
}

let requesters: Requester[] = [];

async function connectAll(args: ConnectArgs): Promise<{ connected: number; ms: number }> {
  const started = performance.now();
  // Batches of 50: 500 CONNECTs at once make the broker's accept queue the bottleneck.
  for (let index = 0; index < args.connections; index += 50) {
    const batch: Promise<Requester>[] = [];
    for (let j = index; j < Math.min(args.connections, index + 50); j++) {
      batch.push(openRequester(args, `${args.clientIdPrefix}${j}`));
    }
    requesters.push(...(await Promise.all(batch)));
  }
  return { connected: requesters.length, ms: performance.now() - started };
}

function errorText(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
}

function runClosed(args: RunArgs): Promise<RunResult> {
  const latency = new Histogram();
  const payload = Buffer.alloc(args.payloadBytes, 0x61);
  const startedAt = performance.now();
  const recordFrom = startedAt + args.warmupMs;
  const endAt = recordFrom + args.durationMs;
  let completed = 0;
  let total = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  let active = 0;
  return new Promise((resolve) => {
    const finishIfIdle = (): void => {
      if (active === 0) {
        resolve({ latency: latency.toJSON(), lateness: undefined, completed, total, errors, errorSamples, windowMs: args.durationMs });
      }
    };
    const fire = (slot: number): void => {
      const requester = requesters[slot % requesters.length];
      if (requester === undefined) return;
      active += 1;
      const sentAt = performance.now();
      requester.send(payload, args.timeoutMs, (error) => {
        active -= 1;
        total += 1;
        const now = performance.now();
        // Throughput counts completions inside the window; latency only calls sent inside it.
        if (error === undefined && now >= recordFrom && now <= endAt) {
          completed += 1;
          if (sentAt >= recordFrom) latency.recordMs(now - sentAt);
        }
        if (error !== undefined) {
          errors += 1;
          if (errorSamples.length < 5) errorSamples.push(errorText(error));
        }
        if (now < endAt) fire(slot);
        else finishIfIdle();
      });
    };
    for (let slot = 0; slot < args.inFlight; slot++) fire(slot);
  });
}

function runOpen(args: RunArgs): Promise<RunResult> {
  const latency = new Histogram();
  const lateness = new Histogram();
  const payload = Buffer.alloc(args.payloadBytes, 0x61);
  const intervalMs = 1000 / args.rate;
  const startedAt = performance.now() + 5;
  const recordFrom = startedAt + args.warmupMs;
  const endAt = recordFrom + args.durationMs;
  let sequence = 0;
  let completed = 0;
  let total = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  let active = 0;
  let scheduling = true;
  return new Promise((resolve) => {
    const finishIfIdle = (): void => {
      if (!scheduling && active === 0) {
        resolve({ latency: latency.toJSON(), lateness: lateness.toJSON(), completed, total, errors, errorSamples, windowMs: args.durationMs });
      }
    };
    const tick = (): void => {
      const now = performance.now();
      for (;;) {
        const intended = startedAt + sequence * intervalMs;
        if (intended >= endAt) {
          scheduling = false;
          finishIfIdle();
          return;
        }
        if (intended > now) break;
        const requester = requesters[sequence % requesters.length];
        sequence += 1;
        if (requester === undefined) continue;
        const record = intended >= recordFrom;
        if (record) lateness.recordMs(now - intended);
        active += 1;
        requester.send(payload, args.timeoutMs, (error) => {
          active -= 1;
          total += 1;
          if (error === undefined) {
            if (record) {
              completed += 1;
              latency.recordMs(performance.now() - intended);
            }
          } else {
            errors += 1;
            if (errorSamples.length < 5) errorSamples.push(errorText(error));
          }
          finishIfIdle();
        });
      }
      const next = startedAt + sequence * intervalMs;
      setTimeout(tick, Math.max(0, next - performance.now()));
    };
    setTimeout(tick, Math.max(0, startedAt - performance.now()));
  });
}

serve({
  connect: (args: ConnectArgs) => connectAll(args),
  run: (args: RunArgs) => (args.mode === 'closed' ? runClosed(args) : runOpen(args)),
  /** One call, timed: cold starts. `fn` (FCClient only) calls another function of the service. */
  once: (args: { payloadBytes: number; timeoutMs: number; fn?: string }): Promise<{ ms: number }> => {
    const requester = requesters[0];
    if (requester === undefined) return Promise.reject(new Error('not connected'));
    const payload = Buffer.alloc(args.payloadBytes, 0x61);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const done: Done = (error) => {
        if (error === undefined) resolve({ ms: performance.now() - started });
        else reject(error);
      };
      if (args.fn !== undefined && requester instanceof FcRequester) requester.send(payload, args.timeoutMs, done, args.fn);
      else requester.send(payload, args.timeoutMs, done);
    });
  },
  usage: (): { cpuUs: number } => {
    const cpu = process.cpuUsage();
    return { cpuUs: cpu.user + cpu.system };
  },
  close: async (): Promise<void> => {
    await Promise.all(requesters.map((requester) => requester.close()));
    requesters = [];
  },
});
