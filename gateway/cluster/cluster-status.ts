/**
 * `cluster-status` (docs/protocol.md §9.16; CLI `edgefc cluster status`): the gateways serving
 * together with their load, and in NATS mode the JetStream streams' health and the servers. The
 * dispatcher sees only `ClusterStatusSource`; a single-box gateway answers with itself (here), a
 * NATS-mode one from its heartbeat (./nats-cluster-status.ts, loaded only in NATS mode).
 */
import type { GatewayAnnouncement, GatewayIdentity, GatewayMode } from './gateway-announcement.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from './heartbeat.js';
import type { GatewayLoadSampler } from './gateway-load.js';
import type { Listing } from './listing.js';
import type { NatsServerSummary } from './server-list.js';
import type { StreamHealth } from './stream-health.js';

/** One gateway as the report lists it: its announcement, and how long ago it was made. */
export type GatewayStatus = Omit<GatewayAnnouncement, 'leaving'>;

export interface ClusterStatusReport {
  mode: GatewayMode;
  /** The ID of the gateway that answered. */
  answeredBy: string;
  /** How often gateways announce themselves, and after how long a silent one is dropped (NATS mode). */
  heartbeat?: { intervalMs: number; ttlMs: number };
  gateways: GatewayStatus[];
  /** NATS mode only. */
  streams?: Listing<StreamHealth>;
  servers?: Listing<NatsServerSummary>;
}

export interface ClusterStatusSource {
  status(): Promise<ClusterStatusReport>;
  /** Stop sampling (and announcing); Gateway.stop. */
  close(): Promise<void>;
}

/** One gateway on one box: the report lists it alone, `mode: single`. */
export class SingleBoxStatus implements ClusterStatusSource {
  readonly #identity: GatewayIdentity;
  readonly #sampler: GatewayLoadSampler;
  readonly #timer: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(identity: GatewayIdentity, sampler: GatewayLoadSampler, now: () => number = Date.now) {
    this.#identity = identity;
    this.#sampler = sampler;
    this.#now = now;
    // The same interval as a cluster's heartbeat, so calls/s means the same in both modes.
    this.#timer = setInterval(() => this.#sampler.sample(), DEFAULT_HEARTBEAT_INTERVAL_MS);
    this.#timer.unref();
  }

  status(): Promise<ClusterStatusReport> {
    const now = this.#now();
    const self: GatewayStatus = { ...this.#identity, at: now, uptimeMs: now - this.#identity.startedAt, load: this.#sampler.last, ttlMs: 0 };
    return Promise.resolve({ mode: this.#identity.mode, answeredBy: this.#identity.id, gateways: [self] });
  }

  close(): Promise<void> {
    clearInterval(this.#timer);
    this.#sampler.close();
    return Promise.resolve();
  }
}
