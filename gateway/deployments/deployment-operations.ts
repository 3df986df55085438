/**
 * What the admin operations on deployments (dispatch/handle-deployments.ts, §9.9–§9.11) need,
 * whichever keeps them: `Deployments` (one gateway, its data directory) or `ClusterDeployments`
 * (NATS mode: the cluster's JetStream buckets, every gateway serving the same, docs/cluster.md).
 */
import type { DeploymentResult, DeploymentView } from './deployments.js';

export interface DeploymentOperations {
  /** §9.9.4: an uploaded bundle; with `only` (`S/F`) that function alone. */
  deployBundle(bytes: Buffer, principal: string, only?: string): Promise<DeploymentResult>;
  /** §9.10 */
  rollback(id: string | undefined, principal: string): Promise<DeploymentResult>;
  /** §9.11 */
  remove(name: string, principal: string): Promise<DeploymentResult>;
  /** §9.10, oldest first. */
  list(): DeploymentView[] | Promise<DeploymentView[]>;
}

/** Uploads in progress (§9.9.2–§9.9.5): `UploadSessions` on one gateway, `ClusterUploads` in a cluster. */
export interface UploadOperations {
  begin(principal: string, size: unknown, sha256: unknown): { uploadId: string; maxChunkBytes: number } | Promise<{ uploadId: string; maxChunkBytes: number }>;
  chunk(principal: string, args: Record<string, unknown>): { received: number } | Promise<{ received: number }>;
  /** The whole bundle, checked; the upload is closed whether it matches or not. */
  take(principal: string, uploadId: unknown): Buffer | Promise<Buffer>;
  abort(principal: string, uploadId: unknown): void | Promise<void>;
}
