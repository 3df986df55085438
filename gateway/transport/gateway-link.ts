/**
 * The gateway's own MQTT connection: subscribes to the request topics (docs/protocol.md §2.1,
 * §9.1) and publishes replies. The same code serves the embedded broker and an external one.
 *
 * With an external broker it first tries MQTT 5, so plain MQTT 5 requests (§8) work, and falls
 * back to 3.1.1 when the broker refuses (aedes, older brokers).
 */
import { ErrorWithReasonCode, type IClientPublishOptions, type IClientSubscribeOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { AuthenticationFailedError, ServiceUnavailableError } from 'edgefc/errors';
import { connectMqtt } from 'edgefc/mqtt';
import { redactUrl } from 'edgefc/mqtt';
import { ADMIN_SUBSCRIPTION, INVOKE_SUBSCRIPTION, STATUS_SUBSCRIPTION } from 'edgefc/protocol';
import type { Logger } from '../logging/logger.js';
import type { GatewayTransport, MessageHandler } from './gateway-transport.js';
import { REPLY_QOS, type InboundMessage, type OutboundProperties } from './inbound-message.js';

export interface GatewayLinkOptions {
  brokerUrl: string;
  clientId: string;
  username?: string;
  password?: string;
  /** 4 for MQTT 3.1.1 only; 5 tries MQTT 5 first, then 3.1.1. */
  protocolVersion: 4 | 5;
  connectTimeoutMs: number;
  logger: Logger;
  /**
   * Keep the broker session across disconnects and restarts (clean session off, MQTT 5 session
   * expiry `sessionExpirySeconds`): QoS 1 messages the gateway has not acknowledged are delivered
   * again when it comes back (docs/protocol.md §10.1). Needs a client ID that stays the same.
   * @default false
   */
  persistentSession?: boolean;
  /** @default 3600 */
  sessionExpirySeconds?: number;
  /** Trigger topic filters to subscribe to, besides the request topics (§11). */
  triggerFilters?: readonly string[];
  /** See MessageHandler: a returned promise holds the message's QoS 1 PUBACK until it settles (§10.1). */
  onMessage: MessageHandler;
}

/** MQTT.js's private sender: the PUBACK of a deferred message goes out through it (see open()). */
interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode?: number }, callback: () => void): void;
}

export class GatewayLink implements GatewayTransport {
  /** The connection being made or made; set before its CONNECT goes out (#wire). */
  #client!: MqttClient;
  #protocolVersion: 4 | 5 = 4;
  readonly #logger: Logger;
  #triggerFilters: readonly string[];

  private constructor(logger: Logger, triggerFilters: readonly string[]) {
    this.#logger = logger;
    this.#triggerFilters = triggerFilters;
  }

  get protocolVersion(): 4 | 5 {
    return this.#protocolVersion;
  }

  /** Connected to the broker now (readiness, gateway/metrics/metrics-server.ts). */
  get connected(): boolean {
    return this.#client.connected;
  }

  static async open(options: GatewayLinkOptions): Promise<GatewayLink> {
    const link = new GatewayLink(options.logger, [...(options.triggerFilters ?? [])]);
    // Wired before each CONNECT: a persistent session's kept messages (§10.1) come right after
    // the CONNACK, before the connect resolves; a listener attached after it missed them, and
    // MQTT.js acknowledged the QoS 1 ones unseen (test/security/mosquitto-restart.test.ts).
    const client = await connectWithFallback(options, (attempt, protocolVersion) => link.#wire(attempt, protocolVersion, options));
    client.on('offline', () => options.logger.warn('broker connection lost; reconnecting', { broker: redactUrl(options.brokerUrl) }));
    client.on('reconnect', () => options.logger.debug('reconnecting to broker', { broker: redactUrl(options.brokerUrl) }));
    client.on('error', (error) => options.logger.warn('broker connection error', { error: error.message }));
    try {
      const topics = [INVOKE_SUBSCRIPTION, ADMIN_SUBSCRIPTION, STATUS_SUBSCRIPTION];
      const subscriptions: Record<string, IClientSubscribeOptions> = Object.fromEntries(topics.map((t) => [t, { qos: 1 }]));
      for (const filter of options.triggerFilters ?? []) subscriptions[filter] = triggerSubscription(link.#protocolVersion);
      await subscribeAll(client, subscriptions);
    } catch (error) {
      await client.endAsync(true);
      throw error instanceof ServiceUnavailableError
        ? error
        : new ServiceUnavailableError(`could not subscribe to request topics: ${String(error)}`, { cause: error });
    }
    return link;
  }

  /** Take `client` as this link's connection, and its messages to the dispatcher. */
  #wire(client: MqttClient, protocolVersion: 4 | 5, options: GatewayLinkOptions): void {
    this.#client = client;
    this.#protocolVersion = protocolVersion;
    // §10.1: an Async call is acknowledged (PUBACK) only once it is on disk. MQTT.js sends the
    // PUBACK when `handleMessage` calls back, but it also handles inbound packets one at a time:
    // holding that callback for a commit would hold every packet behind it (Sync requests, the
    // broker's PUBACKs to our replies) and allow one commit per message, ~8k/s at best. So the
    // callback is released at once with an error, which makes MQTT.js skip its own PUBACK and go
    // on, and the PUBACK is sent here when the store has committed. Messages without a promise
    // (Sync, admin) take MQTT.js's normal path, unchanged.
    const deferred = new WeakMap<IPublishPacket, Promise<void>>();
    let generation = 0;
    client.on('connect', () => {
      generation += 1; // a PUBACK is only valid on the connection that received the message
    });
    client.on('message', (topic, payload, packet) => {
      const message: InboundMessage = { topic, payload };
      const properties = packet.properties;
      if (properties?.responseTopic !== undefined) message.responseTopic = properties.responseTopic;
      if (properties?.correlationData !== undefined) message.correlationData = properties.correlationData;
      if (properties?.messageExpiryInterval !== undefined) message.messageExpiryInterval = properties.messageExpiryInterval;
      const userProperties = properties?.userProperties;
      if (userProperties !== undefined) {
        message.traceparent = userProperties['traceparent'];
        message.tracestate = userProperties['tracestate'];
        if (userProperties['x-fc-qualifier'] !== undefined) message.qualifier = userProperties['x-fc-qualifier'];
      }
      const stored = options.onMessage(message, this);
      if (stored !== undefined && packet.qos === 1) deferred.set(packet, stored);
    });
    client.handleMessage = (packet, callback) => {
      const stored = deferred.get(packet);
      const { messageId } = packet;
      if (stored === undefined || messageId === undefined) return callback();
      deferred.delete(packet);
      const receivedOn = generation;
      callback(new Error('PUBACK deferred until the store commits'));
      const ack = (): void => {
        if (receivedOn !== generation || !client.connected) return; // the broker sends it again
        (client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId }, () => undefined);
      };
      // Settled either way: a failed write was answered with an error reply, which the caller acts on.
      stored.then(ack, ack);
    };
  }

  publish(topic: string, payload: Buffer, properties?: OutboundProperties): void {
    // §1.2: envelope replies at QoS 0, plain MQTT 5 replies (§8.3, they come with properties) at
    // QoS 1. QoS 0 spares the broker's PUBACK to the gateway and the client's to the broker:
    // 0.82-0.92× p50 and 1.09-1.20× req/s through Mosquitto (BENCHMARKS.md, "Before/after:
    // envelope replies at QoS 0").
    const options: IClientPublishOptions = { qos: properties === undefined ? REPLY_QOS : 1 };
    if (properties !== undefined && this.protocolVersion === 5) {
      options.properties = {};
      if (properties.correlationData !== undefined) options.properties.correlationData = properties.correlationData;
      if (properties.userProperties !== undefined) options.properties.userProperties = properties.userProperties;
    }
    this.#client.publish(topic, payload, options, (error) => {
      if (error !== undefined && error !== null) {
        this.#logger.warn('reply publish failed', { topic, error: error.message });
      }
    });
  }

  /**
   * A redeploy's trigger filters (§11): subscribe the new ones, unsubscribe the ones no function
   * uses any more. With a persistent session the broker keeps both changes across restarts.
   */
  async setTriggerFilters(filters: readonly string[]): Promise<void> {
    const before = this.#triggerFilters;
    const added = filters.filter((filter) => !before.includes(filter));
    const removed = before.filter((filter) => !filters.includes(filter));
    if (added.length > 0) {
      try {
        await subscribeAll(this.#client, Object.fromEntries(added.map((filter) => [filter, triggerSubscription(this.protocolVersion)])));
      } catch (error) {
        // Some of them may have been granted: keep the filters we had, and only those.
        await this.#client.unsubscribeAsync(added).catch(() => undefined);
        throw error;
      }
    }
    if (removed.length > 0) await this.#client.unsubscribeAsync(removed);
    this.#triggerFilters = [...filters];
  }

  /** Publish QoS 1 and resolve once the broker has acknowledged it (destinations, §10.5). */
  publishConfirmed(topic: string, payload: Buffer): Promise<void> {
    return this.#client.publishAsync(topic, payload, { qos: 1 }).then(() => undefined);
  }

  async close(): Promise<void> {
    await this.#client.endAsync(false);
  }
}

/**
 * `wire` is called with each attempt's client and protocol version before its CONNECT
 * (connectMqtt's beforeConnect): the one wired last is the one returned.
 */
async function connectWithFallback(options: GatewayLinkOptions, wire: (client: MqttClient, protocolVersion: 4 | 5) => void): Promise<MqttClient> {
  const persistent = options.persistentSession === true;
  const base = {
    clientId: options.clientId,
    connectTimeoutMs: options.connectTimeoutMs,
    coalesceWrites: true,
    clean: !persistent,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
  };
  if (options.protocolVersion === 5) {
    try {
      return await connectMqtt(options.brokerUrl, {
        ...base,
        protocolVersion: 5,
        beforeConnect: (attempt) => wire(attempt, 5),
        // MQTT 5 ends a session at disconnect unless it has an expiry [MQTT-3.1.2-23].
        ...(persistent ? { properties: { sessionExpiryInterval: options.sessionExpirySeconds ?? 3600 } } : {}),
      });
    } catch (error) {
      // Only a broker that answered and said no gets a second try; an unreachable one fails now,
      // and so does a refused login: it is not about the protocol version.
      if (!(error instanceof Error && error.cause instanceof ErrorWithReasonCode)) throw error;
      if (error instanceof AuthenticationFailedError) throw error;
      options.logger.info('broker refused MQTT 5; using MQTT 3.1.1 (plain MQTT 5 requests are off)', {
        error: error.message,
      });
    }
  }
  return connectMqtt(options.brokerUrl, { ...base, protocolVersion: 4, beforeConnect: (attempt) => wire(attempt, 4) });
}

/** §11.3: MQTT 5 No Local keeps what the gateway publishes (destinations) out of its triggers. */
function triggerSubscription(protocolVersion: 4 | 5): IClientSubscribeOptions {
  return protocolVersion === 5 ? { qos: 1, nl: true } : { qos: 1 };
}

/** Subscribe, or throw ServiceUnavailable naming the filters the broker refused. */
async function subscribeAll(client: MqttClient, subscriptions: Record<string, IClientSubscribeOptions>): Promise<void> {
  let granted: Awaited<ReturnType<MqttClient['subscribeAsync']>>;
  try {
    granted = await client.subscribeAsync(subscriptions);
  } catch (error) {
    // MQTT.js rejects a SUBACK with a failure code itself, without saying which filter it was.
    throw new ServiceUnavailableError(
      `the broker did not grant the gateway's subscription to ${Object.keys(subscriptions).join(', ')} (check its ACL): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  // A SUBACK code of 0x80 or more is a refusal: 0x80 in MQTT 3.1.1; in MQTT 5 also 0x87 (not
  // authorized), 0x8F (bad filter), 0x97 (quota), ….
  const refused = granted.filter((grant) => grant.qos >= 0x80).map((grant) => grant.topic);
  if (refused.length > 0) {
    throw new ServiceUnavailableError(`the broker refused the gateway's subscription to ${refused.join(', ')} (check its ACL)`);
  }
}
