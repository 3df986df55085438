/**
 * FCClient options and their defaults.
 */
import { nanoid } from 'nanoid';
import { newRequestId } from '../protocol/request-id.js';

export interface ClientLogger {
  warn(message: string): void;
}

export interface FCClientOptions {
  /**
   * Broker to connect to. Inside a hosted function the gateway sets `EDGEFC_BROKER_URL`, so
   * `new FCClient()` reaches the gateway that runs it.
   * @default process.env.EDGEFC_BROKER_URL ?? 'mqtt://127.0.0.1:1883'
   * @example 'mqtt://gateway.local:1883'
   */
  brokerUrl?: string;
  /**
   * MQTT client ID; it names this client's reply topic (docs/protocol.md §2.2), so it must be
   * 1–64 of `[A-Za-z0-9_-]` and unique on the broker.
   * @default `edgefc_` + 16 random nanoid characters
   */
  clientId?: string;
  username?: string;
  password?: string;
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
}

export interface ResolvedClientOptions {
  brokerUrl: string;
  clientId: string;
  username: string | undefined;
  password: string | undefined;
  timeout: number;
  connectTimeout: number;
  generateRequestId: () => string;
  logger: ClientLogger;
  offlineQueueSize: number;
}

export const DEFAULT_BROKER_URL = 'mqtt://127.0.0.1:1883';
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_OFFLINE_QUEUE_SIZE = 1000;
/** Set by the gateway in every function process (gateway/runtime/node). */
export const BROKER_URL_ENV = 'EDGEFC_BROKER_URL';

const stderrLogger: ClientLogger = {
  warn(message) {
    process.emitWarning(message);
  },
};

export function resolveClientOptions(options: FCClientOptions): ResolvedClientOptions {
  return {
    brokerUrl: options.brokerUrl ?? process.env[BROKER_URL_ENV] ?? DEFAULT_BROKER_URL,
    clientId: options.clientId ?? `edgefc_${nanoid(16)}`,
    username: options.username,
    password: options.password,
    timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
    connectTimeout: options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    generateRequestId: options.generateRequestId ?? newRequestId,
    logger: options.logger ?? stderrLogger,
    offlineQueueSize: options.offlineQueueSize ?? DEFAULT_OFFLINE_QUEUE_SIZE,
  };
}
