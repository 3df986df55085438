/**
 * The gateway's link to its own embedded aedes, without TCP: requests are taken from aedes as
 * clients publish them, replies are handed to `aedes.publish`. Over MQTT.js on loopback
 * (./gateway-link.ts) each call cost two extra TCP hops in this one process (four syscalls, an
 * MQTT encode and parse on each side, a QoS 1 PUBACK each way): 17-35 % of the gateway's CPU at
 * 64 calls in flight (BENCHMARKS.md, profile).
 *
 * Semantics kept from the MQTT link:
 * - What reaches the dispatcher: messages on the request topics (§2.1, §9.1, §10.7) and the
 *   trigger filters (§11), matched as an MQTT subscription would match them (`+` is one whole
 *   level, `#` the rest). MQTT 3.1.1 only, as aedes speaks it: no plain MQTT 5 requests (§8).
 * - §10.1: a client's QoS 1 PUBLISH is acknowledged only once the dispatcher's promise (the
 *   Async store's commit) settles. aedes sends a PUBACK before delivering, so this cannot be a
 *   subscription: it is the broker's PublishInterceptor, which runs before the PUBACK.
 * - §11.3: what the gateway publishes itself never comes back to it as a trigger (the MQTT link
 *   needs MQTT 5 No Local for that; here it holds because only clients' publishes are taken).
 * - Replies are published QoS 1: a client subscribed with QoS 1 gets them QoS 1, with aedes's
 *   retries and QoS 0 shedding (./../broker/qos0-shedding.ts) as for any other message.
 *
 * The dispatcher runs inside aedes's handling of the publisher's packet, before the message
 * reaches other subscribers; it must not throw (the gateway's handler catches everything).
 */
import type { PublishPacket } from 'aedes';
import { topicMatches } from 'edgefc/protocol';
import { TOPIC_PREFIX } from 'edgefc/protocol';
import type { EmbeddedBroker } from '../broker/embedded-broker.js';
import type { Logger } from '../logging/logger.js';
import type { GatewayTransport, MessageHandler } from './gateway-transport.js';
import { REPLY_QOS, type InboundMessage, type OutboundProperties } from './inbound-message.js';

export interface InProcessLinkOptions {
  broker: EmbeddedBroker;
  logger: Logger;
  /** Trigger topic filters to take, besides the request topics (§11). */
  triggerFilters?: readonly string[];
  onMessage: MessageHandler;
}

const GATEWAY_PREFIX = `${TOPIC_PREFIX}/`;
const INVOKE_PREFIX = `${TOPIC_PREFIX}/invoke/`;
const ADMIN_PREFIX = `${TOPIC_PREFIX}/admin/`;
const STATUS_PREFIX = `${TOPIC_PREFIX}/status/`;

export class InProcessLink implements GatewayTransport {
  readonly protocolVersion = 4 as const;

  /** The embedded broker is in this process: the link is up while its listener listens. */
  get connected(): boolean {
    return this.#broker.server.listening;
  }

  readonly #broker: EmbeddedBroker;
  readonly #logger: Logger;
  readonly #onMessage: MessageHandler;
  #triggerFilters: readonly string[];
  #closed = false;

  private constructor(options: InProcessLinkOptions) {
    this.#broker = options.broker;
    this.#logger = options.logger;
    this.#onMessage = options.onMessage;
    this.#triggerFilters = options.triggerFilters ?? [];
  }

  /** Start taking messages from `broker`'s clients. One link per broker. */
  static open(options: InProcessLinkOptions): InProcessLink {
    const link = new InProcessLink(options);
    options.broker.interceptPublishes((packet, release) => {
      link.#intercept(packet, release);
    });
    return link;
  }

  publish(topic: string, payload: Buffer, _properties?: OutboundProperties): void {
    // MQTT 3.1.1 has no properties (correlation data, user properties): those are §8 only.
    if (this.#closed) return;
    // §1.2: envelope replies at QoS 0 (the only kind here: aedes speaks 3.1.1).
    this.#broker.aedes.publish({ cmd: 'publish', topic, payload, qos: REPLY_QOS, retain: false, dup: false }, (error) => {
      if (error !== undefined && error !== null) this.#logger.warn('reply publish failed', { topic, error: error.message });
    });
  }

  publishConfirmed(topic: string, payload: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the gateway link is closed'));
    return new Promise((resolve, reject) => {
      // aedes calls back once the message was handed to every matching subscriber (and queued
      // for offline persistent sessions): what a broker's PUBACK means.
      this.#broker.aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (error) => {
        if (error !== undefined && error !== null) reject(error);
        else resolve();
      });
    });
  }

  setTriggerFilters(filters: readonly string[]): Promise<void> {
    this.#triggerFilters = [...filters];
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#broker.interceptPublishes(undefined);
    return Promise.resolve();
  }

  #intercept(packet: PublishPacket, release: (error?: Error | null) => void): void {
    const { topic } = packet;
    if (this.#closed || !this.#wants(topic)) {
      release(null);
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const message: InboundMessage = { topic, payload };
    const stored = this.#onMessage(message, this);
    // §10.1: a QoS 0 message has no acknowledgement to hold.
    if (stored === undefined || packet.qos === 0) {
      release(null);
      return;
    }
    // Settled either way: a failed write was answered with an error reply, which the caller acts on.
    stored.then(
      () => release(null),
      () => release(null),
    );
  }

  /** Would the MQTT link's subscriptions (INVOKE/ADMIN/STATUS_SUBSCRIPTION, triggers) match `topic`? */
  #wants(topic: string): boolean {
    if (topic.startsWith(GATEWAY_PREFIX)) {
      // edgefc/v1/invoke/+/+/+, edgefc/v1/admin/+/+, edgefc/v1/status/+: levels after the prefix.
      if (topic.startsWith(INVOKE_PREFIX)) return slashesFrom(topic, INVOKE_PREFIX.length) === 2;
      if (topic.startsWith(ADMIN_PREFIX)) return slashesFrom(topic, ADMIN_PREFIX.length) === 1;
      if (topic.startsWith(STATUS_PREFIX)) return slashesFrom(topic, STATUS_PREFIX.length) === 0;
      return false; // §11.1: no trigger filter matches the gateway's own topics
    }
    for (const filter of this.#triggerFilters) if (topicMatches(filter, topic)) return true;
    return false;
  }
}

function slashesFrom(topic: string, start: number): number {
  let count = 0;
  for (let index = topic.indexOf('/', start); index !== -1; index = topic.indexOf('/', index + 1)) count += 1;
  return count;
}
