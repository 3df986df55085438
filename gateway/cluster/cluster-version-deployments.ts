/**
 * Which deployment a version names in NATS mode, and where its files are on this gateway
 * (versions/version-deployments.ts, docs/cluster.md "Versions and aliases"):
 *
 * - a publish names the **cluster's** current deployment (key `current`, cluster-deployments.ts),
 *   whichever gateway takes it, even one that has not applied it yet, and the version carries its
 *   record (`clusterDeployment`);
 * - a gateway freezes a version from its own copy of that deployment (a record of its
 *   DeploymentStore with `cluster` = the id); with none (it started later, or pruned it), it
 *   fetches the bundle from the object store, checked by size and sha256, and keeps it
 *   unserved (`DeploymentStore.keep`), pinned against pruning while the version is kept;
 * - the object store keeps a bundle while a version names it (ClusterDeployments asks
 *   `pinnedBundles`, cluster-versions.ts, before removing any). A publish checks after it is kept
 *   that the bundle is still there, and puts it back from this gateway's copy if a deploy removed
 *   it meanwhile (it read the versions before this one was kept);
 * - a deleted version's bundle is removed when neither the cluster's history nor another version
 *   uses it.
 */
import { InvalidArgumentError, ServiceNotFoundError } from 'edgefc/errors';
import type { DeploymentRecord, DeploymentStore } from '../deployments/deployment-store.js';
import type { Logger } from '../logging/logger.js';
import { quoteName } from '../registry/closest-name.js';
import type { PublishTarget, VersionDeployments } from '../versions/version-deployments.js';
import type { VersionRecord } from '../versions/version-store.js';
import type { ClusterBuckets } from './cluster-buckets.js';
import { putBundle } from './cluster-bundles.js';
import { readState } from './cluster-deployments.js';
import type { ClusterDeploymentState } from './cluster-deployment-state.js';
import { basesOf, localCopy, type ClusterRecordOf } from './cluster-local-copy.js';
import { pinnedBundles } from './cluster-versions.js';

export class ClusterVersionDeployments implements VersionDeployments {
  readonly #buckets: ClusterBuckets;
  readonly #store: DeploymentStore;
  readonly #logger: Logger;

  constructor(options: { buckets: ClusterBuckets; store: DeploymentStore; logger: Logger }) {
    this.#buckets = options.buckets;
    this.#store = options.store;
    this.#logger = options.logger;
  }

  async toPublish(service: string): Promise<PublishTarget> {
    const { state } = await readState(this.#buckets);
    if (state === undefined) throw new InvalidArgumentError('the cluster serves no deployment yet: deploy a template first (edgefc deploy --template F), then publish');
    const current = state.current;
    if (!current.functions.some((name) => name.startsWith(`${service}/`))) {
      throw new ServiceNotFoundError(`service ${quoteName(service)} is not in the cluster's current deployment ${current.id}`);
    }
    const recordOf = inHistory(state);
    return { deployment: current.id, local: await this.#localCopy(current, recordOf), clusterDeployment: current, clusterBases: basesOf(current, recordOf) };
  }

  async localOf(version: VersionRecord): Promise<DeploymentRecord | undefined> {
    const entry = version.clusterDeployment;
    if (entry === undefined) return this.#store.list().find((r) => r.cluster === version.deployment);
    // The bases a version kept; the cluster's history only for one kept before versions kept them.
    const kept = version.clusterBases ?? [];
    const recordOf: ClusterRecordOf = (id) => kept.find((r) => r.id === id);
    if (entry.only === undefined || kept.length > 0) return this.#localCopy(entry, recordOf);
    return this.#localCopy(entry, inHistory((await readState(this.#buckets)).state));
  }

  async published(version: VersionRecord): Promise<void> {
    const entry = version.clusterDeployment;
    if (entry === undefined) return;
    const info = await this.#buckets.bundles.info(entry.sha256).catch(() => undefined);
    if (info !== undefined && info !== null && !info.deleted) return;
    const local = this.#store.list().find((r) => r.cluster === entry.id && r.sha256 === entry.sha256);
    if (local === undefined) return;
    await putBundle(this.#buckets.bundles, this.#store.bundle(local), entry.sha256);
    this.#logger.warn('a deploy removed the bundle of a version being published: put back from this gateway\'s copy', { version: version.versionId, deployment: entry.id });
  }

  async released(version: VersionRecord): Promise<void> {
    const entry = version.clusterDeployment;
    if (entry === undefined) return;
    try {
      const { state } = await readState(this.#buckets);
      const pinned = await pinnedBundles(this.#buckets.versions);
      for (const record of [entry, ...(version.clusterBases ?? [])]) {
        if (state?.history.some((r) => r.sha256 === record.sha256) === true || pinned.has(record.sha256)) continue;
        await this.#buckets.bundles.delete(record.sha256);
        this.#logger.info('bundle no version or kept deployment uses removed from the cluster', { deployment: record.id, sha256: record.sha256 });
      }
    } catch (error) {
      // A leftover costs space, not correctness.
      this.#logger.warn('cannot remove the bundle of a deleted version', { deployment: entry.id, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** This gateway's copy of the cluster's deployment `entry`: the one it has, or its bundle fetched and kept unserved (cluster-local-copy.ts). */
  async #localCopy(entry: DeploymentRecord, recordOf: ClusterRecordOf): Promise<DeploymentRecord> {
    const had = this.#store.list().find((r) => r.cluster === entry.id && r.sha256 === entry.sha256);
    if (had !== undefined) return had;
    const record = await localCopy(this.#buckets.bundles, this.#store, entry, recordOf);
    this.#logger.info('a version\'s deployment fetched from the cluster', { deployment: entry.id, kept: record.id });
    return record;
  }
}

function inHistory(state: ClusterDeploymentState | undefined): ClusterRecordOf {
  return (id) => state?.history.find((r) => r.id === id);
}
