/**
 * The JetStream streams' health, as `cluster-status` reports it (docs/protocol.md §9.16): every
 * stream of the gateway's account — edgefc's own and nats-server's MQTT layer (`$MQTT_msgs`,
 * `$MQTT_sess`, `$MQTT_rmsgs`, …) — with its replicas, leader, which peers are current and which
 * lag, and its messages. Read through nats.js's JetStream manager (the `$JS.API` the gateway
 * login may use, security/nats-config.ts); loaded only in NATS mode.
 */
import { jetstreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { listed, notListed, reasonOf, type Listing } from './listing.js';

export interface StreamPeer {
  name: string;
  /** Messages behind the leader. */
  lag: number;
  offline: boolean;
}

export interface StreamHealth {
  name: string;
  /** Configured replicas. */
  replicas: number;
  /** The node leading it; absent while none is elected (no quorum). */
  leader?: string;
  /** The leader and every replica that is current. */
  current: string[];
  /** Replicas behind the leader, or offline. */
  lagging: StreamPeer[];
  messages: number;
  bytes: number;
}

/** 2 s: a healthy cluster answers in milliseconds; one with no quorum never does. */
const STREAM_LIST_TIMEOUT_MS = 2_000;

export async function readStreamHealth(nc: NatsConnection): Promise<Listing<StreamHealth>> {
  try {
    const jsm = await jetstreamManager(nc, { timeout: STREAM_LIST_TIMEOUT_MS, checkAPI: false });
    const streams: StreamHealth[] = [];
    for await (const info of jsm.streams.list()) streams.push(toHealth(info));
    return listed(streams.sort((a, b) => a.name.localeCompare(b.name)));
  } catch (error) {
    return notListed(reasonOf(error, 'the JetStream streams'));
  }
}

function toHealth(info: StreamInfo): StreamHealth {
  const leader = info.cluster?.leader;
  const replicas = info.cluster?.replicas ?? [];
  return {
    name: info.config.name,
    replicas: info.config.num_replicas,
    ...(leader === undefined || leader === '' ? {} : { leader }),
    current: [...(leader === undefined || leader === '' ? [] : [leader]), ...replicas.filter((peer) => peer.current && !peer.offline).map((peer) => peer.name)],
    lagging: replicas.filter((peer) => !peer.current || peer.offline).map((peer) => ({ name: peer.name, lag: peer.lag ?? 0, offline: peer.offline ?? false })),
    messages: info.state.messages,
    bytes: info.state.bytes,
  };
}
