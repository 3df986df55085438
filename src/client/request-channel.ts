/**
 * One MQTT connection with one reply subscription (docs/protocol.md §2.3), and the table of calls
 * waiting on it. FCClient and the admin client both send through it, so request/reply lives in
 * one place.
 */
import type { MqttClient } from 'mqtt';
import {
  AbortedError,
  ClientClosedError,
  EdgeFCError,
  InvalidArgumentError,
  RequestTimeoutError,
  ServiceUnavailableError,
} from '../errors.js';
import { connectMqtt } from '../mqtt/connect.js';
import { decodeReply, type Reply } from '../protocol/reply.js';
import { replyTopic } from '../protocol/topics.js';
import { DEFAULT_RECONNECT_AFTER_TIMEOUTS, type ClientLogger, type ClientTls } from './options.js';
import { PendingRequests } from './pending-requests.js';

export interface RequestChannelOptions {
  brokerUrl: string;
  clientId: string;
  /** The topic level this client's calls and replies use (docs/protocol.md §2.2). */
  address: string;
  /** TLS material (PEM) for mqtts:// brokers. */
  tls: ClientTls;
  username: string | undefined;
  password: string | undefined;
  connectTimeout: number;
  logger: ClientLogger;
  /**
   * Calls in a row that may time out on a connection that delivers no reply at all before it is
   * replaced (see #onTimeout). 0: never.
   * @default 3
   */
  reconnectAfterTimeouts?: number;
}

export interface ChannelRequest {
  requestId: string;
  /** Absolute deadline, epoch ms on this machine's clock. */
  deadline: number;
  signal: AbortSignal | undefined;
  /**
   * Made by the caller at its call site, so the stack names the caller (STYLE §10). Without it,
   * a RequestTimeoutError is made when the deadline passes, and the caller makes its own from it
   * where its stack names who waits (FCClient#invoke): a stack captured per call was the largest
   * part of FCClient's CPU per Async call (BENCHMARKS.md).
   */
  timeoutError?: RequestTimeoutError;
  topic: string;
  /** Builds the frame once the budget left at publish time is known (§3.4). */
  frame: (remainingMs: number) => Buffer;
  /**
   * Publish it again, same request ID, after a reconnect: the request may have reached a broker
   * that lost it, or the gateway's reply may have been lost with the connection. Only for
   * invocations, which the gateway dedupes by request ID (§10.2); not for admin operations.
   */
  resendOnReconnect?: boolean;
  /** @default 1 */
  qos?: 0 | 1;
}

/** Shared: MQTT.js only reads the options of a publish. */
const PUBLISH_QOS_1 = { qos: 1 } as const;
const PUBLISH_QOS_0 = { qos: 0 } as const;

/** The message of a RequestTimeoutError the channel makes itself (ChannelRequest.timeoutError). */
export const NO_REPLY_MESSAGE = 'no reply from the gateway before the deadline';

/** After a reconnect, waiting calls are sent again at these multiples of the reconnect period (see #resendLater). */
const RESEND_AFTER_RECONNECT_PERIODS = [1, 2, 4] as const;

export class RequestChannel {
  readonly #options: RequestChannelOptions;
  readonly #pending = new PendingRequests();
  readonly #replyTopic: string;
  #connection: Promise<MqttClient> | undefined;
  /** The connected client, once the first connection succeeded. */
  #mqtt: MqttClient | undefined;
  readonly #reconnectListeners: (() => void)[] = [];
  #closed = false;
  /** Calls timed out on the current connection since a reply last arrived on it. */
  #silentTimeouts = 0;

  constructor(options: RequestChannelOptions) {
    this.#options = options;
    this.#replyTopic = replyTopic(options.address);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True when the client had connected and has lost the connection (MQTT.js is reconnecting). */
  get offline(): boolean {
    return this.#mqtt !== undefined && !this.#mqtt.connected && !this.#closed;
  }

  /** Called after every reconnect (not the first connect), once the reply subscription is renewed. */
  onReconnect(listener: () => void): void {
    this.#reconnectListeners.push(listener);
  }

  /** The connected client with its reply subscription acknowledged; connects on first use. */
  ready(signal?: AbortSignal): Promise<MqttClient> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    this.#connection ??= this.#open();
    return signal === undefined ? this.#connection : raceAbort(this.#connection, signal);
  }

  /** Publish a request and wait for its reply, its deadline, its abort or close. */
  request(call: ChannelRequest): Promise<Reply> {
    // Fast path, once connected (or reconnecting: MQTT.js queues the publish): no await, so a
    // call costs one promise and reaches the socket in the caller's turn.
    const mqtt = this.#mqtt;
    if (mqtt !== undefined && !this.#closed && call.signal?.aborted !== true) return this.#send(mqtt, call);
    return this.#connectThenSend(call);
  }

  async #connectThenSend(call: ChannelRequest): Promise<Reply> {
    const { signal } = call;
    if (signal?.aborted === true) throw abortError(signal);
    const mqtt = await this.ready(signal);
    // close() may have run while this call waited for the connection: it found no entry to fail.
    if (this.#closed) throw new ClientClosedError();
    return this.#send(mqtt, call);
  }

  #send(mqtt: MqttClient, call: ChannelRequest): Promise<Reply> {
    const { signal, requestId } = call;
    const remaining = call.deadline - Date.now();
    if (remaining <= 0) return Promise.reject(call.timeoutError ?? new RequestTimeoutError(NO_REPLY_MESSAGE));
    if (this.#pending.has(requestId)) {
      return Promise.reject(new InvalidArgumentError(`request ${requestId} is already pending on this client`));
    }
    let frame: Buffer;
    try {
      frame = call.frame(remaining);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const publishOptions = call.qos === 0 ? PUBLISH_QOS_0 : PUBLISH_QOS_1;
    return new Promise<Reply>((resolve, reject) => {
      const pending = this.#pending;
      const onAbort = signal === undefined ? undefined : (): void => {
        pending.cancel(requestId, abortError(signal));
      };
      const timer = setTimeout(this.#onTimeout, remaining, mqtt, requestId, call.timeoutError);
      if (onAbort !== undefined) signal?.addEventListener('abort', onAbort, { once: true });
      const onPublished = (error?: Error): void => {
        if (error !== undefined && error !== null) {
          pending.cancel(requestId, new ServiceUnavailableError(`could not publish the request: ${error.message}`, { cause: error }));
        }
      };
      pending.add(requestId, {
        resolve,
        reject,
        timer,
        ...(onAbort === undefined || signal === undefined ? {} : { signal, onAbort }),
        ...(call.resendOnReconnect === true
          ? {
              resend: () => {
                const left = call.deadline - Date.now();
                if (left > 0) mqtt.publish(call.topic, call.frame(left), publishOptions, onPublished);
              },
            }
          : {}),
      });
      mqtt.publish(call.topic, frame, publishOptions, onPublished);
    });
  }

  /** Close the connection; every waiting call fails with ClientClosed. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.rejectAll(() => new ClientClosedError());
    const connection = this.#connection;
    this.#connection = undefined;
    this.#mqtt = undefined;
    if (connection === undefined) return;
    const mqtt = await connection.catch(() => undefined);
    if (mqtt !== undefined) await mqtt.endAsync(true);
  }

  async #open(): Promise<MqttClient> {
    const options = this.#options;
    let mqtt: MqttClient;
    try {
      mqtt = await connectMqtt(options.brokerUrl, {
        clientId: options.clientId,
        connectTimeoutMs: options.connectTimeout,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.password === undefined ? {} : { password: options.password }),
        ...options.tls,
      });
    } catch (error) {
      this.#connection = undefined; // the next call tries again
      throw error;
    }
    mqtt.on('message', (topic, payload) => {
      if (topic === this.#replyTopic) this.#onReply(payload);
    });
    try {
      const granted = await mqtt.subscribeAsync(this.#replyTopic, { qos: 1 });
      if (granted.some((grant) => grant.qos === 128)) {
        throw new ServiceUnavailableError(`the broker refused the subscription to ${this.#replyTopic} (check its ACL)`);
      }
    } catch (error) {
      this.#connection = undefined;
      await mqtt.endAsync(true);
      throw error instanceof EdgeFCError ? error : new ServiceUnavailableError(`subscribe failed: ${errorMessage(error)}`, { cause: error });
    }
    if (this.#closed) {
      await mqtt.endAsync(true);
      throw new ClientClosedError();
    }
    // Later 'connect' events are reconnects. MQTT.js renews the reply subscription only after it
    // has sent its own offline queue, so it is renewed here too; then calls still waiting are
    // published again (a restarted broker may have lost them, §10.2 makes that safe) and listeners
    // (the offline Async queue) run, once the broker has acknowledged it: a reply can then never
    // beat the subscription (§1.4).
    mqtt.on('connect', () => {
      if (this.#reconnectListeners.length === 0 && this.#pending.size === 0) return;
      mqtt.subscribeAsync(this.#replyTopic, { qos: 1 }).then(
        () => {
          this.#pending.resendAll();
          this.#resendLater(mqtt);
          for (const listener of this.#reconnectListeners) listener();
        },
        (error: unknown) => this.#options.logger.warn(`edgefc: could not renew ${this.#replyTopic} after a reconnect: ${errorMessage(error)}`),
      );
    });
    this.#mqtt = mqtt;
    return mqtt;
  }

  /**
   * §4.4: the gateway reconnects on its own schedule and, after a broker restart that lost its
   * session, renews its subscriptions only then: a request re-sent before that is lost again.
   * So calls still waiting are sent once more one, two and four reconnect periods later (the
   * gateway's dedupe makes every repeat safe, §10.2). Timers stop with the channel.
   */
  #resendLater(mqtt: MqttClient): void {
    const period = mqtt.options.reconnectPeriod ?? 1000;
    for (const periods of RESEND_AFTER_RECONNECT_PERIODS) {
      const timer = setTimeout(() => {
        if (!this.#closed && mqtt.connected) this.#pending.resendAll();
      }, period * periods);
      timer.unref();
    }
  }

  /**
   * §4.5: a call's deadline passed. A connection that takes requests but delivers no reply, call
   * after call, is replaced: nats-server was seen to leave a device's connection in that state
   * after a node's loss (no answer for 40 s and more, repeats included) while a new connection
   * was answered at once (docs/cluster.md). Destroying the socket makes MQTT.js reconnect (to the
   * next broker of a list), and the 'connect' handler renews the reply subscription and sends the
   * waiting calls again.
   */
  readonly #onTimeout = (mqtt: MqttClient, requestId: string, error: RequestTimeoutError | undefined): void => {
    if (!this.#pending.cancel(requestId, error ?? new RequestTimeoutError(NO_REPLY_MESSAGE))) return;
    const limit = this.#options.reconnectAfterTimeouts ?? DEFAULT_RECONNECT_AFTER_TIMEOUTS;
    // Only calls of the connection in use, while it is up: a reconnect in progress is MQTT.js's.
    if (limit <= 0 || this.#closed || mqtt !== this.#mqtt || !mqtt.connected) return;
    this.#silentTimeouts += 1;
    if (this.#silentTimeouts < limit) return;
    this.#silentTimeouts = 0;
    this.#options.logger.warn(`edgefc: ${limit} calls in a row got no reply on this broker connection; connecting again`);
    mqtt.stream.destroy();
  };

  #onReply(payload: Buffer): void {
    this.#silentTimeouts = 0;
    let reply: Reply;
    try {
      reply = decodeReply(payload);
    } catch (error) {
      this.#options.logger.warn(`edgefc: dropped an unreadable reply on ${this.#replyTopic}: ${errorMessage(error)}`);
      return;
    }
    this.#pending.dispatch(reply); // §4.3: an unknown ID is dropped
  }
}

export function abortError(signal: AbortSignal | undefined): EdgeFCError {
  const reason: unknown = signal?.reason;
  if (reason instanceof EdgeFCError) return reason;
  return new AbortedError('the call was aborted', { cause: reason });
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
