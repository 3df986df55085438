/**
 * FCClient options and their defaults.
 */
import { nanoid } from 'nanoid';
import { InvalidArgumentError } from '../errors.js';
import { newRequestId } from '../protocol/request-id.js';

export interface ClientLogger {
  warn(message: string): void;
}

export interface FCClientOptions {
  /**
   * Broker to connect to. Inside a hosted function the gateway sets `EDGEFC_BROKER_URL`, so
   * `new FCClient()` reaches the gateway that runs it. Several brokers, comma-separated (the
   * nodes of a NATS cluster, docs/cluster.md): the first is tried first, and each reconnect
   * tries the next, so a device whose node died goes on through another.
   * @default process.env.EDGEFC_BROKER_URL ?? 'mqtt://127.0.0.1:1883'
   * @example 'mqtt://gateway.local:1883'
   * @example 'mqtt://10.0.0.1:1883,mqtt://10.0.0.2:1883,mqtt://10.0.0.3:1883'
   */
  brokerUrl?: string;
  /**
   * MQTT client ID; it names this client's reply topic (docs/protocol.md §2.2), so it must be
   * 1–64 of `[A-Za-z0-9_-]` and unique on the broker.
   * @default `edgefc_` + 16 random nanoid characters
   */
  clientId?: string;
  /**
   * Login (docs/security.md). With a username, the client's topic address (§2.2) is the username
   * and the client ID is the username or `username_…`. Inside a hosted function the gateway
   * sets EDGEFC_USERNAME / EDGEFC_PASSWORD to the instance's own credential.
   * @default process.env.EDGEFC_USERNAME
   */
  username?: string;
  /** @default process.env.EDGEFC_PASSWORD */
  password?: string;
  /**
   * For `mqtts://` brokers: the CA that signed the broker's certificate (PEM), and a client
   * certificate and key for mutual TLS (the certificate's CN names the principal).
   * @example { ca: readFileSync('/etc/edgefc/ca.pem') }
   */
  tls?: ClientTls;
  /**
   * Default end-to-end budget of a call, in ms; `invokeFunction({ timeout })` overrides it.
   * @default 10000
   */
  timeout?: number;
  /**
   * How long the first connection may take before calls fail with ServiceUnavailable, in ms.
   * @default 5000
   */
  connectTimeout?: number;
  /**
   * Makes request IDs (docs/protocol.md §3.3).
   * @default 21 random characters of `[0-9A-Za-z_]` (src/protocol/request-id.ts), ~125 bits
   */
  generateRequestId?: () => string;
  /** @default a logger that writes warnings to stderr */
  logger?: ClientLogger;
  /**
   * Async calls kept while the broker connection is lost, sent with their request IDs when it is
   * back (docs/protocol.md §10.8); past it a call fails at once with ResourceThrottled. 0: off.
   * 1000: a device that reports once a second rides out a 15-minute outage.
   * @default 1000
   */
  offlineQueueSize?: number;
  /**
   * Send W3C trace context with every invocation (docs/protocol.md §3.7.3): the caller's
   * `traceparent`, else the running function call's trace continued, else a new trace. false:
   * only what a call passes as `traceparent` is sent.
   * @default true
   */
  traceContext?: boolean;
  /**
   * QoS of Sync invocation requests (docs/protocol.md §1.2). 0, the default: a Sync call is
   * made reliable by its deadline and its request ID (a call that gets no reply times out and
   * can be repeated with the same ID, §10.2; after a reconnect this client repeats it itself,
   * §4.4), so the broker's acknowledgement buys little and costs a packet each way: measured on
   * one box, 1.22-1.26× the throughput at 64 calls in flight, and on nats-server's MQTT listener
   * half the p50, a replicated JetStream write per request saved (BENCHMARKS.md, docs/cluster.md).
   * 1: an external broker holds the request for a gateway that is reconnecting or restarting
   * (its session is persistent), so a call made in that gap is answered late instead of timing
   * out. Async calls, whose acceptance §10.1 is about, are always sent at QoS 1.
   * @default 0
   * @example new FCClient({ brokerUrl: 'mqtt://mosquitto:1883', syncRequestQos: 1 })
   */
  syncRequestQos?: 0 | 1;
  /**
   * Replace the broker connection after this many calls in a row timed out on it with no reply
   * at all arriving in between (docs/protocol.md §4.5): a connection the broker accepts requests
   * on but delivers nothing to any more is dropped, and a new one is made (the next broker of a
   * list), its waiting calls sent again with their request IDs. Seen on nats-server after a node
   * was lost (docs/cluster.md). 0: never.
   * @default 3
   */
  reconnectAfterTimeouts?: number;
}

/** PEM contents. */
export interface ClientTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface ResolvedClientOptions {
  brokerUrl: string;
  clientId: string;
  /** The `{clientId}` level of its topics: the username when it has one, else the client ID. */
  address: string;
  tls: ClientTls;
  username: string | undefined;
  password: string | undefined;
  timeout: number;
  connectTimeout: number;
  generateRequestId: () => string;
  logger: ClientLogger;
  offlineQueueSize: number;
  traceContext: boolean;
  syncRequestQos: 0 | 1;
  reconnectAfterTimeouts: number;
}

export const DEFAULT_BROKER_URL = 'mqtt://127.0.0.1:1883';
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_OFFLINE_QUEUE_SIZE = 1000;
export const DEFAULT_RECONNECT_AFTER_TIMEOUTS = 3;
/** Set by the gateway in every function process (gateway/runtime/node). */
export const BROKER_URL_ENV = 'EDGEFC_BROKER_URL';
/** The broker login: set by the gateway in every function process (its own credential), or by a device's operator. */
export const USERNAME_ENV = 'EDGEFC_USERNAME';
export const PASSWORD_ENV = 'EDGEFC_PASSWORD';

const stderrLogger: ClientLogger = {
  warn(message) {
    process.emitWarning(message);
  },
};

export function resolveClientOptions(options: FCClientOptions): ResolvedClientOptions {
  const username = options.username ?? nonEmpty(process.env[USERNAME_ENV]);
  const password = options.password ?? nonEmpty(process.env[PASSWORD_ENV]);
  // An authenticated client's topics are its principal's (docs/security.md §2): the broker binds
  // them to the username. Its client ID is `username_` + 12 random characters, so one principal
  // can hold several connections (principal names have no "_").
  const clientId = options.clientId ?? (username === undefined ? `edgefc_${nanoid(16)}` : `${username}_${nanoid(12)}`);
  return {
    brokerUrl: options.brokerUrl ?? process.env[BROKER_URL_ENV] ?? DEFAULT_BROKER_URL,
    clientId,
    address: username ?? clientId,
    tls: options.tls ?? {},
    username,
    password,
    timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
    connectTimeout: options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    generateRequestId: options.generateRequestId ?? newRequestId,
    logger: options.logger ?? stderrLogger,
    offlineQueueSize: options.offlineQueueSize ?? DEFAULT_OFFLINE_QUEUE_SIZE,
    traceContext: options.traceContext ?? true,
    syncRequestQos: requestQosOption(options.syncRequestQos),
    reconnectAfterTimeouts: countOption(options.reconnectAfterTimeouts, 'reconnectAfterTimeouts', DEFAULT_RECONNECT_AFTER_TIMEOUTS),
  };
}

/** A whole number ≥ 0, or its default; InvalidArgument otherwise. */
function countOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a whole number ≥ 0 (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** 0 or 1, default 0 (§1.2); InvalidArgument otherwise: QoS 2 is not used by this protocol. */
function requestQosOption(value: unknown): 0 | 1 {
  if (value === undefined || value === 0 || value === 1) return value ?? 0;
  throw new InvalidArgumentError(`syncRequestQos must be 0 or 1 (got ${JSON.stringify(value)})`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
