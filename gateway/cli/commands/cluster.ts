/**
 * `edgefc cluster status` (docs/protocol.md §9.16): the gateways serving together with their
 * load, and in NATS mode the JetStream streams' health and the servers, as the gateway the
 * request reaches knows them.
 */
import { parseArgs } from 'node:util';
import type { ClusterStatusReport } from '../../cluster/cluster-status.js';
import type { Listing } from '../../cluster/listing.js';
import { renderTable, type Cell } from '../table.js';
import { UsageError } from '../usage-error.js';
import { callGateway, connectionOptions, type Output } from './common.js';
import { CONNECTION_USAGE } from '../connection.js';

export const CLUSTER_USAGE = `Usage: edgefc cluster status [options]

The gateways serving together (one, "mode: single", on one box), each with its host, pid,
version, uptime and load: calls in flight, calls per second over the last 2 s, function
instances, RSS and event-loop delay (p99). In NATS mode (edgefc gateway --nats) also every
JetStream stream (nats-server's MQTT layer's $MQTT_* too): replicas, leader, current and lagging
peers, messages; and the servers, when the gateway's NATS login may read them (a system-account
login only: otherwise the reason is shown). Operators only.

Options:
  --timeout MS        how long to wait for the answer (default 10000)
  --json              print the report as one JSON object

${CONNECTION_USAGE}
`;

export const CLUSTER_OPTIONS = connectionOptions;

export async function runCluster(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: CLUSTER_OPTIONS });
  if (values.help) {
    output.out(CLUSTER_USAGE);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'status') throw new UsageError('edgefc cluster status [options]');
  return callGateway(values, output, {
    operation: 'cluster-status',
    defaultTimeoutMs: 10_000,
    // QoS 0: read-only, and most needed when nats-server's MQTT layer has lost its JetStream
    // quorum, where a QoS 1 request is never delivered (measured, docs/scale-out.md §5).
    requestQos: 0,
    print: (answer) => output.out(renderClusterStatus(answer as ClusterStatusReport)),
  });
}

const seconds = (ms: number): string => (ms < 120_000 ? `${Math.round(ms / 1000)}s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)}m` : `${(ms / 3_600_000).toFixed(1)}h`);

export function renderClusterStatus(report: ClusterStatusReport): string {
  const heartbeat = report.heartbeat === undefined ? '' : ` (gateways announce every ${seconds(report.heartbeat.intervalMs)}; dropped after ${seconds(report.heartbeat.ttlMs)} silent)`;
  const parts = [`mode: ${report.mode}, answered by ${report.answeredBy}${heartbeat}\n\n`];
  const gateways = report.gateways.map((g) => [
    g.id === report.answeredBy ? `*${g.id}` : ` ${g.id}`,
    g.host,
    g.pid,
    g.version,
    seconds(g.uptimeMs),
    g.natsServer ?? '-',
    g.load.callsInFlight,
    g.load.callsPerSecond,
    g.load.instances,
    Math.round(g.load.rssBytes / 1_048_576),
    g.load.eventLoopDelayMs,
  ]);
  parts.push(renderTable(['GATEWAY', 'HOST', 'PID', 'VERSION', 'UPTIME', 'NATS_SERVER', 'IN_FLIGHT', 'CALLS/S', 'INSTANCES', 'RSS_MB', 'LOOP_P99_MS'], gateways));
  parts.push(`${gateways.length} gateway(s); * answered\n`);
  if (report.streams !== undefined) {
    parts.push('\n');
    parts.push(
      section(report.streams, 'streams', (s): Cell[] => [
        s.name,
        s.replicas,
        s.leader ?? 'NONE',
        s.current.join(',') || '-',
        s.lagging.map((peer) => `${peer.name}${peer.offline ? ' (offline)' : ` (-${peer.lag})`}`).join(',') || '-',
        s.messages,
      ], ['STREAM', 'REPLICAS', 'LEADER', 'CURRENT', 'LAGGING', 'MESSAGES']),
    );
  }
  if (report.servers !== undefined) {
    parts.push('\n');
    parts.push(section(report.servers, 'servers', (s): Cell[] => [s.name, s.version, s.cluster ?? '-', s.connections, s.cpu, Math.round(s.memBytes / 1_048_576), s.jetstream], ['SERVER', 'VERSION', 'CLUSTER', 'CONNECTIONS', 'CPU_%', 'MEM_MB', 'JETSTREAM']));
  }
  return parts.join('');
}

function section<T>(listing: Listing<T>, what: string, row: (item: T) => Cell[], headers: readonly string[]): string {
  if (!listing.listed) return `${what}: not listed: ${listing.reason}\n`;
  if (listing.items.length === 0) return `${what}: none\n`;
  return renderTable(headers, listing.items.map(row));
}
