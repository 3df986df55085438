/**
 * The gateway's native connection to a NATS cluster (nats.js), for several gateways serving the
 * same devices (docs/cluster.md). Devices keep speaking MQTT 3.1.1 to nats-server's MQTT
 * listener; the server carries their messages on subjects (./nats-subjects.ts, §2.7).
 *
 * - Requests (§2.1, §9.1, §10.7) and triggers (§11) are taken in one NATS **queue group**
 *   (`edgefc-gateways`): each message goes to exactly one of the gateways subscribed, so each
 *   call runs once, and a gateway that stops (or dies) simply stops being chosen. MQTT's
 *   `$share/…` does not help here: nats-server 2.9 grants it and delivers nothing (FACTS.md).
 * - Replies are published on the device's reply subject; nats-server hands them to the device's
 *   MQTT subscription at QoS 0 (measured, FACTS.md): a reply is lost with the device's
 *   connection, as a QoS 0 one is; the device's timeout and retry with the same request ID
 *   (§10.2) cover it.
 * - §10.1 does not hold the device's PUBACK here: nats-server acknowledges a device's QoS 1
 *   PUBLISH itself, before the gateway sees it. An Async call is "accepted" by its reply, which
 *   is sent only once the cluster's replicated stream has acknowledged the gateway's own publish
 *   of it (gateway/async/jetstream/, docs/cluster.md "Async calls").
 * - MQTT 3.1.1 only (protocolVersion 4): nats-server 2.9 refuses MQTT 5, so no plain MQTT 5
 *   requests (§8).
 */
import { connect, type ConnectionOptions, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { AuthenticationFailedError, ServiceUnavailableError } from 'edgefc/errors';
import { ADMIN_SUBSCRIPTION, INVOKE_SUBSCRIPTION, STATUS_SUBSCRIPTION } from 'edgefc/protocol';
import type { Logger } from '../logging/logger.js';
import type { GatewayTransport, MessageHandler } from './gateway-transport.js';
import type { InboundMessage, OutboundProperties } from './inbound-message.js';
import { filterToSubjects, subjectToTopic, topicToSubject } from './nats-subjects.js';

/** Every gateway of a cluster takes requests in this one group: one gateway per message. */
export const GATEWAY_QUEUE_GROUP = 'edgefc-gateways';

export interface NatsTlsFiles {
  /** CA bundle that signs the servers' certificates (PEM file). */
  caFile?: string;
  /** The gateway's client certificate and key, when the servers verify clients (PEM files). */
  certFile?: string;
  keyFile?: string;
}

export interface NatsLinkOptions {
  /** `nats://host:port` (or `tls://`), one or more servers of the cluster. */
  servers: readonly string[];
  /** The gateway's NATS login (never from argv: docs/security.md §10). */
  username?: string;
  password?: string;
  tls?: NatsTlsFiles;
  /** Shown in the servers' connection lists (`nats-server` monitoring). */
  name: string;
  connectTimeoutMs: number;
  logger: Logger;
  /** Trigger topic filters to take, besides the request topics (§11). */
  triggerFilters?: readonly string[];
  onMessage: MessageHandler;
}

export class NatsLink implements GatewayTransport {
  readonly protocolVersion = 4 as const;
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #onMessage: MessageHandler;
  readonly #requests: Subscription[] = [];
  #triggers = new Map<string, Subscription[]>();
  #taking = true;
  #connectedNow = true;

  private constructor(nc: NatsConnection, options: NatsLinkOptions) {
    this.#nc = nc;
    this.#logger = options.logger;
    this.#onMessage = options.onMessage;
  }

  /** The connection, for what rides beside the requests: the cluster heartbeat (gateway/cluster/heartbeat.ts) and the cluster's Async queue (gateway/async/jetstream/jetstream-queue.ts). */
  get connection(): NatsConnection {
    return this.#nc;
  }

  /** Connected to a server of the cluster now (readiness, gateway/metrics/metrics-server.ts). */
  get connected(): boolean {
    return !this.#nc.isClosed() && this.#connectedNow;
  }

  static async open(options: NatsLinkOptions): Promise<NatsLink> {
    // Mapped first: a trigger filter NATS cannot carry stops the start before anything connects.
    const triggerSubjects = new Map((options.triggerFilters ?? []).map((filter) => [filter, filterToSubjects(filter)]));
    const nc = await connectNats(options);
    const link = new NatsLink(nc, options);
    link.#watchStatus();
    try {
      for (const filter of [INVOKE_SUBSCRIPTION, ADMIN_SUBSCRIPTION, STATUS_SUBSCRIPTION]) {
        for (const subject of filterToSubjects(filter)) link.#requests.push(link.#subscribe(subject));
      }
      for (const [filter, subjects] of triggerSubjects) link.#triggers.set(filter, subjects.map((subject) => link.#subscribe(subject)));
      // The server has every subscription (and refused none: a permission error closes nothing
      // but is reported on status; flush makes the round trip) before the gateway says ready.
      await nc.flush();
    } catch (error) {
      await nc.close();
      throw new ServiceUnavailableError(`could not subscribe to the request subjects: ${String(error)}`, { cause: error });
    }
    return link;
  }

  publish(topic: string, payload: Buffer, _properties?: OutboundProperties): void {
    // MQTT 3.1.1 devices: no properties to carry (§8 is MQTT 5 only).
    if (this.#nc.isClosed()) return;
    try {
      this.#nc.publish(topicToSubject(topic), payload);
    } catch (error) {
      this.#logger.warn('reply publish failed', { topic, error: String(error) });
    }
  }

  /** Published and the server has it (a flush round trip): what a broker's PUBACK means (§10.5). */
  async publishConfirmed(topic: string, payload: Buffer): Promise<void> {
    this.#nc.publish(topicToSubject(topic), payload);
    await this.#nc.flush();
  }

  /** A redeploy's trigger filters (§11). A filter NATS cannot carry is refused before any change. */
  async setTriggerFilters(filters: readonly string[]): Promise<void> {
    const mapped = new Map(filters.map((filter) => [filter, filterToSubjects(filter)]));
    for (const [filter, subscriptions] of this.#triggers) {
      if (mapped.has(filter)) continue;
      for (const subscription of subscriptions) subscription.unsubscribe();
      this.#triggers.delete(filter);
    }
    for (const [filter, subjects] of mapped) {
      if (!this.#triggers.has(filter)) this.#triggers.set(filter, subjects.map((subject) => this.#subscribe(subject)));
    }
    await this.#nc.flush();
  }

  /**
   * Leave the queue group: new calls go to the other gateways while this one finishes what it
   * has (Gateway.stop calls it first). Messages already delivered to this gateway are handled.
   */
  async stopTaking(): Promise<void> {
    if (!this.#taking) return;
    this.#taking = false;
    const all = [...this.#requests, ...[...this.#triggers.values()].flat()];
    await Promise.all(all.map((subscription) => subscription.drain().catch(() => undefined)));
  }

  async close(): Promise<void> {
    this.#taking = false;
    if (this.#nc.isClosed()) return;
    // Replies already handed to the connection leave before it closes.
    await this.#nc.flush().catch(() => undefined);
    await this.#nc.close();
  }

  #subscribe(subject: string): Subscription {
    return this.#nc.subscribe(subject, {
      queue: GATEWAY_QUEUE_GROUP,
      callback: (error, msg) => {
        if (error !== null) {
          this.#logger.warn('NATS subscription error', { subject, error: error.message });
          return;
        }
        this.#deliver(msg);
      },
    });
  }

  #deliver(msg: Msg): void {
    // A copy: the call outlives this callback (a Sync call runs, and its request may be kept for
    // replay, §10.2), and a view would keep, or see reused, nats.js's read buffer.
    const message: InboundMessage = { topic: subjectToTopic(msg.subject), payload: Buffer.from(msg.data) };
    // The promise (an Async commit) has no acknowledgement to hold on core NATS (see the header).
    const settled = this.#onMessage(message, this);
    settled?.catch(() => undefined);
  }

  #watchStatus(): void {
    const watch = async (): Promise<void> => {
      for await (const status of this.#nc.status()) {
        switch (status.type) {
          case 'disconnect':
            this.#connectedNow = false;
            this.#logger.warn('NATS connection lost; reconnecting', { server: status.server });
            break;
          case 'reconnect':
            this.#connectedNow = true;
            this.#logger.info('NATS connection back', { server: status.server });
            break;
          case 'error':
            this.#logger.warn('NATS server error', { error: status.error.message });
            break;
          default:
            break;
        }
      }
    };
    watch().catch((error: unknown) => this.#logger.warn('NATS status watch ended', { error: String(error) }));
  }
}

/** A connection as the link makes it (also the cluster state's, gateway/cluster/cluster-state.ts). */
export async function connectNats(options: Pick<NatsLinkOptions, 'servers' | 'name' | 'connectTimeoutMs' | 'username' | 'password' | 'tls'>): Promise<NatsConnection> {
  const settings: ConnectionOptions = {
    servers: [...options.servers],
    name: options.name,
    timeout: options.connectTimeoutMs,
    // A gateway never gives up on its cluster: nats.js tries every server in turn, forever.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...(options.username === undefined ? {} : { user: options.username }),
    ...(options.password === undefined ? {} : { pass: options.password }),
  };
  if (options.tls !== undefined) {
    settings.tls = {
      ...(options.tls.caFile === undefined ? {} : { caFile: options.tls.caFile }),
      ...(options.tls.certFile === undefined ? {} : { certFile: options.tls.certFile }),
      ...(options.tls.keyFile === undefined ? {} : { keyFile: options.tls.keyFile }),
    };
  }
  try {
    return await connect(settings);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Error && (error.name === 'AuthorizationError' || /authoriz|authentic/i.test(message))) {
      throw new AuthenticationFailedError(`the NATS servers refused the gateway's login: ${message}`, { cause: error });
    }
    throw new ServiceUnavailableError(`cannot reach the NATS servers ${options.servers.join(', ')}: ${message}`, { cause: error });
  }
}
