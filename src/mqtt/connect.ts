/**
 * Connect an MQTT.js client and wait for the broker's first CONNACK, within a deadline.
 *
 * MQTT.js on its own never gives up: `mqtt.connect()` returns at once and retries every
 * `reconnectPeriod` forever, so a wrong URL looks like a hang. Here the first connect is bounded
 * by `connectTimeoutMs` and fails with a typed `ServiceUnavailableError`; after the first
 * success the client reconnects on its own like any MQTT.js client.
 */
import { connect, ErrorWithReasonCode, type IClientOptions, type MqttClient } from 'mqtt';
import { AuthenticationFailedError, ServiceUnavailableError } from '../errors.js';
import { parseBrokerList } from './broker-list.js';
import { redactUrl } from './redact-url.js';
import { enableTcpNoDelay } from './tcp-nodelay.js';
import { enableWriteCoalescing } from './write-coalescing.js';

export interface ConnectMqttOptions extends IClientOptions {
  /**
   * How long to keep trying to get the first CONNACK (TCP connect, CONNECT, CONNACK; refused
   * TCP connections are retried every `reconnectPeriod` within this budget).
   * @default 10_000
   * @example connectMqtt('mqtt://127.0.0.1:1883', { connectTimeoutMs: 2_000 })
   */
  connectTimeoutMs?: number;
  /**
   * Send the packets of one event-loop turn in one socket write (write-coalescing.ts). On for
   * the gateway's link; off for FCClient (measured: more client CPU per call at 1 in flight, no
   * gain at 64) and for plain clients (the benchmark's raw baselines).
   * @default false
   */
  coalesceWrites?: boolean;
  /**
   * Called with the client before its first CONNECT goes out. What a broker sends right after
   * its CONNACK (the messages it kept for a persistent session) is emitted before the returned
   * promise settles, so listeners for it must be attached here: attached afterwards, they miss
   * it, and MQTT.js acknowledges a QoS 1 message nobody saw.
   */
  beforeConnect?: (client: MqttClient) => void;
}

/**
 * MQTT.js logs through `debug` on every packet (~2 % of the gateway's CPU at 64 calls in flight,
 * BENCHMARKS.md, even with DEBUG unset: the calls and their arguments are still made). Unless
 * DEBUG is set, its log is a no-op; set DEBUG=mqttjs* to see MQTT.js's own trace.
 */
const quietLog = (): void => undefined;

/** 1 s: a restarted broker is back within a few seconds; faster retries only burn CPU. */
const DEFAULT_RECONNECT_PERIOD_MS = 1_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Resolves with a connected client (TCP_NODELAY on, kept on across reconnects). Rejects with
 * `ServiceUnavailableError` when the broker is unreachable within `connectTimeoutMs` or refuses
 * the CONNECT (bad credentials, unsupported protocol version: aedes refuses MQTT 5); the client
 * is then closed, with no reconnect timer left behind.
 */
export async function connectMqtt(url: string, options: ConnectMqttOptions = {}): Promise<MqttClient> {
  const { connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS, coalesceWrites = false, beforeConnect, ...clientOptions } = options;
  // Several brokers, comma-separated: each (re)connect tries the next (broker-list.ts).
  const { first, servers } = parseBrokerList(url);
  const reconnectPeriod = clientOptions.reconnectPeriod ?? DEFAULT_RECONNECT_PERIOD_MS;
  const debugging = process.env['DEBUG'] !== undefined && process.env['DEBUG'] !== '';
  const client = connect(first, {
    ...(debugging ? {} : { log: quietLog }),
    ...clientOptions,
    ...(servers === undefined ? {} : { servers }),
    reconnectPeriod,
    // MQTT.js's own per-attempt CONNACK timeout must not outlive our budget.
    connectTimeout: Math.min(clientOptions.connectTimeout ?? 30_000, connectTimeoutMs),
    // We call connect() after installing the nodelay hook, so even CONNECT goes out without Nagle.
    manualConnect: true,
  });
  enableTcpNoDelay(client);
  if (coalesceWrites) enableWriteCoalescing(client);
  beforeConnect?.(client);

  let lastError: Error | undefined;
  let onConnect: () => void = () => undefined;
  let onError: (error: Error) => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onConnect = resolve;
      onError = (error) => {
        lastError = error;
        // A CONNACK with a non-zero return code is the broker saying no: retrying will not help.
        if (error instanceof ErrorWithReasonCode) reject(refused(url, error));
        // Anything else (ECONNREFUSED, connack timeout) is retried until the deadline.
      };
      timer = setTimeout(() => reject(unreachable(url, connectTimeoutMs, lastError)), connectTimeoutMs);
      client.once('connect', onConnect);
      client.on('error', onError);
      client.connect();
    });
  } catch (error) {
    await new Promise<void>((resolve) => {
      client.end(true, {}, () => resolve());
    });
    throw error;
  } finally {
    clearTimeout(timer);
    client.off('connect', onConnect);
    client.off('error', onError);
  }
  return client;
}

function describe(error: Error | undefined): string {
  if (error === undefined) return 'no CONNACK';
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? `${code} ${error.message}` : error.message;
}

function unreachable(url: string, timeoutMs: number, cause: Error | undefined): ServiceUnavailableError {
  return new ServiceUnavailableError(
    `MQTT broker ${redactUrl(url)} unreachable: ${describe(cause)} (gave up after ${timeoutMs} ms)`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * CONNACK return codes that mean "not you" (MQTT 3.1.1 §3.2.2.3: 2 identifier rejected, 4 bad
 * user name or password, 5 not authorized; MQTT 5 reason codes 0x85-0x87, 0x8C).
 */
const AUTH_REFUSALS = new Set([2, 4, 5, 0x85, 0x86, 0x87, 0x8c]);

function refused(url: string, cause: ErrorWithReasonCode): ServiceUnavailableError | AuthenticationFailedError {
  const shown = redactUrl(url);
  if (AUTH_REFUSALS.has(cause.code)) {
    return new AuthenticationFailedError(
      `MQTT broker ${shown} refused the login: ${cause.message} (return code ${cause.code}). ` +
        'Give a username and password (EDGEFC_USERNAME, and EDGEFC_PASSWORD or --password-file), or a client certificate; ' +
        'on the gateway\'s own box the CLI finds the local operator credential in the data directory (docs/security.md)',
      { cause },
    );
  }
  return new ServiceUnavailableError(`MQTT broker ${shown} refused the connection: ${cause.message} (return code ${cause.code})`, { cause });
}
