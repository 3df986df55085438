/**
 * `cluster-status` in NATS mode (docs/protocol.md §9.16): the gateways this one has heard
 * (./heartbeat.ts), the JetStream streams' health and, when the login may read them, the
 * servers. Loaded by dynamic import only in NATS mode, with nats.js's JetStream module.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logging/logger.js';
import type { ClusterStatusReport, ClusterStatusSource } from './cluster-status.js';
import type { GatewayIdentity } from './gateway-announcement.js';
import type { GatewayLoadSampler } from './gateway-load.js';
import { ClusterHeartbeat, DEFAULT_HEARTBEAT_INTERVAL_MS } from './heartbeat.js';
import { ServerList } from './server-list.js';
import { readStreamHealth } from './stream-health.js';

export interface NatsClusterStatusOptions {
  nc: NatsConnection;
  identity: GatewayIdentity;
  sampler: GatewayLoadSampler;
  logger: Logger;
  /** @default 2000 */
  intervalMs?: number;
}

export class NatsClusterStatus implements ClusterStatusSource {
  readonly #nc: NatsConnection;
  readonly #heartbeat: ClusterHeartbeat;
  readonly #identity: GatewayIdentity;
  readonly #intervalMs: number;
  readonly #servers: ServerList;

  constructor(options: NatsClusterStatusOptions) {
    this.#nc = options.nc;
    this.#identity = options.identity;
    this.#intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.#servers = new ServerList(options.nc);
    this.#heartbeat = new ClusterHeartbeat({ nc: options.nc, identity: options.identity, sampler: options.sampler, logger: options.logger, intervalMs: this.#intervalMs });
  }

  async status(): Promise<ClusterStatusReport> {
    const [streams, servers] = await Promise.all([readStreamHealth(this.#nc), this.#servers.read()]);
    return {
      mode: this.#identity.mode,
      answeredBy: this.#identity.id,
      heartbeat: { intervalMs: this.#intervalMs, ttlMs: this.#heartbeat.ttlMs },
      gateways: this.#heartbeat.members(),
      streams,
      servers,
    };
  }

  close(): Promise<void> {
    return this.#heartbeat.stop();
  }
}
