/**
 * A NATS-mode gateway's share of the cluster's state (docs/cluster.md "Deployments"): its own
 * nats.js connection for JetStream (apart from the link's, nats-link.ts, which carries calls;
 * this one is opened first, so a gateway serves the cluster's deployment before it joins the
 * queue group), the buckets, and the deployments, uploads, versions and access file kept in them.
 *
 * Loaded by `Gateway.start` with a dynamic import, in NATS mode only.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import path from 'node:path';
import { DeploymentStore } from '../deployments/deployment-store.js';
import type { Deployments } from '../deployments/deployments.js';
import type { Logger } from '../logging/logger.js';
import type { Template } from '../registry/types.js';
import { connectNats, type NatsLinkOptions } from '../transport/nats-link.js';
import { openClusterBuckets, type ClusterBuckets } from './cluster-buckets.js';
import { ClusterAccess } from './cluster-access.js';
import { ClusterDeployments } from './cluster-deployments.js';
import { ClusterUploads } from './cluster-uploads.js';
import { ClusterVersionDeployments } from './cluster-version-deployments.js';
import { ClusterVersionStore, pinnedBundles } from './cluster-versions.js';

export interface ClusterStateOptions extends Pick<NatsLinkOptions, 'servers' | 'name' | 'connectTimeoutMs' | 'username' | 'password' | 'tls'> {
  /** Replicas of the buckets. @default 3 in a cluster, 1 on a single node (cluster-buckets.ts) */
  replicas?: number;
  logger: Logger;
  dataDir: string;
  maxBundleBytes: number;
  keepDeployments?: number;
}

export class ClusterState {
  readonly buckets: ClusterBuckets;
  readonly uploads: ClusterUploads;
  readonly #nc: NatsConnection;
  readonly #options: ClusterStateOptions;
  #revision = 0;
  #deployments: ClusterDeployments | undefined;
  #access: ClusterAccess | undefined;
  #versions: ClusterVersionStore | undefined;

  private constructor(nc: NatsConnection, buckets: ClusterBuckets, options: ClusterStateOptions) {
    this.#nc = nc;
    this.buckets = buckets;
    this.#options = options;
    this.uploads = new ClusterUploads(buckets.uploads, { maxBundleBytes: options.maxBundleBytes });
  }

  static async open(options: ClusterStateOptions): Promise<ClusterState> {
    const nc = await connectNats({ ...options, name: `${options.name}/state` });
    try {
      const buckets = await openClusterBuckets(nc, options.replicas);
      options.logger.info('cluster state ready', { replicas: buckets.replicas });
      return new ClusterState(nc, buckets, options);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** The template to serve at start: the cluster's deployment (ClusterDeployments.atStart). */
  async atStart(store: DeploymentStore, templatePath: string | undefined): Promise<Template> {
    const { template, revision } = await ClusterDeployments.atStart({ buckets: this.buckets, store, templatePath, logger: this.#options.logger, maxBundleBytes: this.#options.maxBundleBytes });
    this.#revision = revision;
    return template;
  }

  /**
   * Deploys go to the cluster from now on, applied to `local`. Following the cluster's key
   * (`ClusterDeployments.watch`) starts once the link exists: applying a deploy changes its
   * trigger subscriptions.
   */
  deploymentsOn(local: Deployments): ClusterDeployments {
    const deployments = new ClusterDeployments({
      buckets: this.buckets,
      local,
      // Bundles a deploy brings are unpacked here to be checked, and removed at once.
      check: DeploymentStore.open(path.join(this.#options.dataDir, 'cluster-check')),
      logger: this.#options.logger,
      maxBundleBytes: this.#options.maxBundleBytes,
      applied: this.#revision,
      // A bundle a service version names stays in the object store (cluster-versions.ts).
      pinnedBundles: () => pinnedBundles(this.buckets.versions),
      ...(this.#options.keepDeployments === undefined ? {} : { keepDeployments: this.#options.keepDeployments }),
    });
    this.#deployments = deployments;
    return deployments;
  }

  /**
   * Service versions and aliases kept in the cluster (cluster-versions.ts): the store `Versions`
   * keeps them in, and where a version's deployment is found on this gateway (`local`).
   */
  versionsOn(local: DeploymentStore): { store: ClusterVersionStore; source: ClusterVersionDeployments } {
    this.#versions = new ClusterVersionStore(this.buckets.versions, this.#options.logger);
    return { store: this.#versions, source: new ClusterVersionDeployments({ buckets: this.buckets, store: local, logger: this.#options.logger }) };
  }

  /**
   * The access file kept equal to the cluster's copy (cluster-access.ts): at start, before the
   * gateway reads it; `followAccess` then keeps it so.
   */
  async shareAccess(accessFile: string): Promise<void> {
    this.#access = await ClusterAccess.open(this.buckets.access, { accessFile, dataDir: this.#options.dataDir, logger: this.#options.logger });
  }

  followAccess(): void {
    this.#access?.follow();
  }

  get deployments(): ClusterDeployments | undefined {
    return this.#deployments;
  }

  async close(): Promise<void> {
    this.#deployments?.close();
    this.#access?.close();
    this.#versions?.close();
    if (!this.#nc.isClosed()) await this.#nc.close();
  }
}
