/**
 * What every inbound-message handler needs; built once by the Gateway.
 */
import type { AsyncQueue } from '../async/async-queue.js';
import type { Logger } from '../logging/logger.js';
import type { FunctionHost } from '../function-host.js';
import type { Registry } from '../registry/registry.js';
import type { Versions } from '../versions/versions.js';
import type { DeployResult } from '../registry/deployer.js';
import type { DeploymentOperations, UploadOperations } from '../deployments/deployment-operations.js';
import type { ReplySink } from '../transport/inbound-message.js';
import type { ClientLimits } from './client-limits.js';
import type { SyncReplayCache } from './sync-replay.js';
import type { AuditSink } from '../security/audit-log.js';
import type { CallPolicy } from '../security/call-policy.js';
import type { FunctionLogs } from '../logging/function-logs.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { CallTracer } from '../tracing/call-tracer.js';
import type { ClusterStatusReport } from '../cluster/cluster-status.js';

export interface DispatchContext {
  registry: Registry;
  /** Service versions and aliases (§3.2a, §9.14, §9.15): what a call's qualifier names. */
  versions?: Versions;
  host: FunctionHost;
  /** Durable Async calls (docs/protocol.md §10): SQLite on one box, JetStream in a NATS cluster. */
  async: AsyncQueue;
  /** Sync retries by request ID (§10.2). */
  syncReplay: SyncReplayCache;
  /** Calls in flight and rate per client ID (§7.5), checked before a call is queued. */
  clientLimits: ClientLimits;
  sink: ReplySink;
  logger: Logger;
  /** Gateway clock, epoch ms; injectable for tests. */
  now: () => number;
  startedAt: number;
  /** Redeploy a template (§9 `deploy`); absent where the gateway does not allow it. */
  deploy?: (templatePath: string | undefined, principal: string) => Promise<DeployResult>;
  /**
   * Deployments and uploads in progress (§9.9–§9.11): the data directory's, or in NATS mode the
   * cluster's (gateway/cluster/cluster-deployments.ts, cluster-uploads.ts).
   */
  deployments?: DeploymentOperations;
  uploads?: UploadOperations;
  /**
   * Who may call what (docs/security.md §3.2), checked before anything runs. Absent only on a
   * gateway started with `--insecure`.
   */
  policy?: CallPolicy;
  /** Every admin operation asked for, with its principal and outcome (docs/security.md §5). */
  audit?: AuditSink;
  /** Prometheus metrics (gateway/metrics/gateway-metrics.ts); absent with `--metrics off`. */
  metrics?: GatewayMetrics;
  /** Functions' log files, read by `logs-read` (§9.13). */
  logs?: Pick<FunctionLogs, 'fileOf'>;
  /** `cluster-status` (§9.16): this gateway and, in NATS mode, the others, the streams and the servers. */
  clusterStatus?: () => Promise<ClusterStatusReport>;
  /** Spans (gateway/tracing/): here for the Async intake; absent without an OTLP endpoint. */
  tracer?: CallTracer;
}
