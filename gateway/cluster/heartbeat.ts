/**
 * Every gateway of a NATS cluster announces itself every `intervalMs` on one subject that every
 * gateway subscribes to outside the queue group (docs/protocol.md §9.16), so whichever gateway
 * an operator's `cluster-status` request reaches knows all the others. A gateway not heard from
 * for its announced `ttlMs` is forgotten; one that stops says so in a last announcement.
 *
 * Core NATS rather than a KV bucket: the membership view must keep working when JetStream has
 * lost its quorum, which is exactly when an operator asks for it. What is lost with that: a
 * gateway that has just started knows the others only from their next announcement; it asks for
 * them at once (an announcement from an unknown gateway is answered by an announcement), so
 * that is one round trip, not an interval.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from '../logging/logger.js';
import { CLUSTER_GATEWAYS_SUBJECT } from './cluster-subjects.js';
import { parseAnnouncement, type GatewayAnnouncement, type GatewayIdentity } from './gateway-announcement.js';
import type { GatewayLoadSampler } from './gateway-load.js';

/**
 * 2 s: fresh enough for a person's `cluster status`, and 0.5 small messages a second per
 * gateway is nothing to the cluster.
 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2_000;
/** Three intervals: one announcement lost, or one late on a loaded box, does not drop a gateway. */
export const DEFAULT_HEARTBEAT_TTL_MS = 3 * DEFAULT_HEARTBEAT_INTERVAL_MS;

export interface HeartbeatOptions {
  nc: NatsConnection;
  identity: GatewayIdentity;
  sampler: GatewayLoadSampler;
  logger: Logger;
  /** @default 2000 */
  intervalMs?: number;
  /** @default 3 × intervalMs */
  ttlMs?: number;
  now?: () => number;
}

interface Member {
  announcement: GatewayAnnouncement;
  /** On this gateway's clock: boxes' clocks may differ, so expiry never compares across them. */
  heardAt: number;
}

export class ClusterHeartbeat {
  readonly #nc: NatsConnection;
  readonly #identity: GatewayIdentity;
  readonly #sampler: GatewayLoadSampler;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #members = new Map<string, Member>();
  readonly #subscription: Subscription;
  readonly #timer: NodeJS.Timeout;
  #stopped = false;

  constructor(options: HeartbeatOptions) {
    this.#nc = options.nc;
    this.#identity = options.identity;
    this.#sampler = options.sampler;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.#ttlMs = options.ttlMs ?? 3 * this.#intervalMs;
    this.#now = options.now ?? Date.now;
    // No queue group: every gateway hears every announcement.
    this.#subscription = this.#nc.subscribe(CLUSTER_GATEWAYS_SUBJECT, {
      callback: (error, msg) => {
        if (error === null) this.#heard(msg.data);
      },
    });
    this.#timer = setInterval(() => {
      this.#sampler.sample();
      this.#announce();
    }, this.#intervalMs);
    this.#timer.unref();
    this.#announce();
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** This gateway's announcement as of now (its last sampled load). */
  self(): GatewayAnnouncement {
    const now = this.#now();
    const server = this.#nc.info?.server_name;
    return {
      ...this.#identity,
      at: now,
      uptimeMs: now - this.#identity.startedAt,
      ...(server === undefined ? {} : { natsServer: server }),
      load: this.#sampler.last,
      ttlMs: this.#ttlMs,
    };
  }

  /** This gateway and every other heard from within its TTL, by ID. */
  members(): GatewayAnnouncement[] {
    const now = this.#now();
    const live: GatewayAnnouncement[] = [this.self()];
    for (const [id, member] of this.#members) {
      if (now - member.heardAt > member.announcement.ttlMs) this.#members.delete(id);
      else live.push(member.announcement);
    }
    return live.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Stop announcing and tell the others to forget this gateway (Gateway.stop). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#publish({ ...this.self(), leaving: true });
    this.#subscription.unsubscribe();
    this.#sampler.close();
    await this.#nc.flush().catch(() => undefined);
  }

  #announce(): void {
    this.#publish(this.self());
  }

  #publish(announcement: GatewayAnnouncement): void {
    if (this.#nc.isClosed()) return;
    try {
      this.#nc.publish(CLUSTER_GATEWAYS_SUBJECT, JSON.stringify(announcement));
    } catch (error) {
      // Disconnected: nats.js buffers while it reconnects, and throws only once closed.
      this.#logger.warn('cluster announcement not sent', { error: String(error) });
    }
  }

  #heard(data: Uint8Array): void {
    const announcement = parseAnnouncement(data);
    if (announcement === undefined || announcement.id === this.#identity.id) return;
    if (announcement.leaving === true) {
      this.#members.delete(announcement.id);
      return;
    }
    const known = this.#members.has(announcement.id);
    this.#members.set(announcement.id, { announcement, heardAt: this.#now() });
    // A gateway just started (or back after a partition): it learns of this one now, not in an interval.
    if (!known && !this.#stopped) this.#announce();
  }
}
