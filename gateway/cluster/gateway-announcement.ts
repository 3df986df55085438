/**
 * What a gateway says about itself (docs/protocol.md §9.16): its identity, which its /metrics
 * also carries (`edgefc_gateway_info`), and, in NATS mode, the announcement every gateway
 * publishes each interval on the cluster subject (./heartbeat.ts). An announcement comes from
 * the wire, so it is checked field by field before it is believed.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import type { GatewayLoad } from './gateway-load.js';

/** `single`: one gateway on one box (embedded broker or one external MQTT broker); `nats`: one of a NATS cluster's gateways. */
export const GatewayMode = { single: 'single', nats: 'nats' } as const;
export type GatewayMode = (typeof GatewayMode)[keyof typeof GatewayMode];

export interface GatewayIdentity {
  /** Stable per data directory (the Async store's gateway ID). */
  id: string;
  host: string;
  pid: number;
  /** edgefc's version (the gateway package's). */
  version: string;
  mode: GatewayMode;
  /** Epoch ms. */
  startedAt: number;
}

export interface GatewayAnnouncement extends GatewayIdentity {
  /** Epoch ms on the announcing gateway's clock. */
  at: number;
  uptimeMs: number;
  /** The nats-server the gateway is connected to (its server_name), when known. */
  natsServer?: string;
  load: GatewayLoad;
  /** Forget this gateway when no announcement follows within this many ms. */
  ttlMs: number;
  /** True in the last one a gateway sends as it stops: forget it now. */
  leaving?: boolean;
}

let version: string | undefined;

/** The gateway package's version, read once. */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}

export function gatewayIdentity(id: string, mode: GatewayMode, startedAt: number): GatewayIdentity {
  return { id, host: hostname(), pid: process.pid, version: packageVersion(), mode, startedAt };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const isText = (value: unknown, max = 256): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;

function parseLoad(value: unknown): GatewayLoad | undefined {
  if (!isRecord(value)) return undefined;
  const { callsInFlight, callsPerSecond, instances, rssBytes, eventLoopDelayMs } = value;
  if (!isCount(callsInFlight) || !isCount(callsPerSecond) || !isCount(instances) || !isCount(rssBytes) || !isCount(eventLoopDelayMs)) return undefined;
  return { callsInFlight, callsPerSecond, instances, rssBytes, eventLoopDelayMs };
}

/** An announcement from the cluster subject, or undefined when it is not one (ignored, never trusted in part). */
export function parseAnnouncement(data: Uint8Array): GatewayAnnouncement | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { id, host, pid, version: announced, mode, startedAt, at, uptimeMs, natsServer, ttlMs, leaving } = value;
  const load = parseLoad(value['load']);
  if (!isText(id, 64) || !isText(host) || !isCount(pid) || !isText(announced, 64) || (mode !== GatewayMode.single && mode !== GatewayMode.nats)) return undefined;
  if (!isCount(startedAt) || !isCount(at) || !isCount(uptimeMs) || !isCount(ttlMs) || load === undefined) return undefined;
  if (natsServer !== undefined && !isText(natsServer)) return undefined;
  return {
    id,
    host,
    pid,
    version: announced,
    mode,
    startedAt,
    at,
    uptimeMs,
    ttlMs,
    load,
    ...(natsServer === undefined ? {} : { natsServer }),
    ...(leaving === true ? { leaving: true } : {}),
  };
}
