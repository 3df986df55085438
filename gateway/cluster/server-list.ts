/**
 * The NATS servers, as `cluster-status` reports them when it may (docs/protocol.md §9.16): each
 * server answers `$SYS.REQ.SERVER.PING.STATSZ`, which only a login of the system account may
 * send. The gateway login `edgefc broker-config nats` writes is not one (least privilege,
 * docs/security.md §10), so by default this is reported as not listed, with the reason; the
 * servers still show in the streams' peers and in each gateway's `natsServer`.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { listed, notListed, reasonOf, type Listing } from './listing.js';

export interface NatsServerSummary {
  name: string;
  version: string;
  cluster?: string;
  connections: number;
  /** Percent of one core. */
  cpu: number;
  memBytes: number;
  jetstream: boolean;
}

/** Servers answer within milliseconds; 300 ms without a new answer ends the list. */
const PING_MAX_WAIT_MS = 1_500;
const PING_STALL_MS = 300;
/**
 * A refused ping is not asked again for 5 minutes: each refusal is a permissions violation
 * nats-server reports to the connection (a warning in the gateway's log), and a login's
 * permissions change only on a server reload.
 */
const DENIED_RETRY_MS = 300_000;

export class ServerList {
  readonly #nc: NatsConnection;
  readonly #now: () => number;
  #denied: { reason: string; until: number } | undefined;

  constructor(nc: NatsConnection, now: () => number = Date.now) {
    this.#nc = nc;
    this.#now = now;
  }

  async read(): Promise<Listing<NatsServerSummary>> {
    if (this.#denied !== undefined && this.#now() < this.#denied.until) return notListed(this.#denied.reason);
    try {
      const replies = await this.#nc.requestMany('$SYS.REQ.SERVER.PING.STATSZ', '', { strategy: 'stall', maxWait: PING_MAX_WAIT_MS, stall: PING_STALL_MS });
      const servers: NatsServerSummary[] = [];
      for await (const reply of replies) {
        const summary = toSummary(reply.json<unknown>());
        if (summary !== undefined) servers.push(summary);
      }
      if (servers.length === 0) return notListed("no server answered $SYS.REQ.SERVER.PING: the gateway's NATS login is not in the system account");
      return listed(servers.sort((a, b) => a.name.localeCompare(b.name)));
    } catch (error) {
      const reason = reasonOf(error, 'the servers: $SYS.REQ.SERVER.PING needs a system-account login');
      if (/permission/i.test(reason)) this.#denied = { reason, until: this.#now() + DENIED_RETRY_MS };
      return notListed(reason);
    }
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const numberOr = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);

function toSummary(value: unknown): NatsServerSummary | undefined {
  if (!isRecord(value) || !isRecord(value['server'])) return undefined;
  const server = value['server'];
  const stats = isRecord(value['statsz']) ? value['statsz'] : {};
  if (typeof server['name'] !== 'string') return undefined;
  return {
    name: server['name'],
    version: typeof server['ver'] === 'string' ? server['ver'] : '',
    ...(typeof server['cluster'] === 'string' ? { cluster: server['cluster'] } : {}),
    connections: numberOr(stats['connections'], 0),
    cpu: numberOr(stats['cpu'], 0),
    memBytes: numberOr(stats['mem'], 0),
    jetstream: server['jetstream'] === true,
  };
}
