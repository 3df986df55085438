/**
 * This gateway's copy of one of the cluster's deployments (docs/cluster.md): a record of its own
 * DeploymentStore with `cluster` = the cluster's id, its bundle fetched from the object store
 * (checked by size and sha256) and kept unserved when it has none. Used where a gateway needs a
 * deployment it may not have applied: a per-function deployment's base (whose other functions
 * it serves, §9.9.4), a service version's deployment (cluster-version-deployments.ts), and at
 * start.
 *
 * A per-function deployment's `base` is the cluster's id; the local copy's `base` is the id of
 * the local copy of that base (made first, the same way), so `served()` and pruning
 * (deployment-store.ts) follow the chain locally.
 */
import type { ObjectStore } from '@nats-io/obj';
import { ServiceUnavailableError } from 'edgefc/errors';
import type { DeploymentRecord, DeploymentStore } from '../deployments/deployment-store.js';
import { fetchBundle } from './cluster-bundles.js';

/** The cluster's record of a deployment by its id (its history, or what a version kept), for a base. */
export type ClusterRecordOf = (id: string) => DeploymentRecord | undefined;

/** Longest chain of per-function deployments followed: a longer one is a loop in a corrupt record. */
const MAX_CHAIN = 1000;

/** The local copy of `entry`, made and kept (not served) when missing; its base's first. */
export async function localCopy(bundles: ObjectStore, store: DeploymentStore, entry: DeploymentRecord, recordOf: ClusterRecordOf, depth = 0): Promise<DeploymentRecord> {
  const found = store.list().find((r) => r.cluster === entry.id && r.sha256 === entry.sha256);
  if (found !== undefined) return found;
  const base = await localBase(bundles, store, entry, recordOf, depth);
  const bytes = await fetchBundle(bundles, entry);
  const staged = store.stage(bytes, entry.id);
  const record: DeploymentRecord = { ...entry, id: staged.id, cluster: entry.id, ...(base === undefined ? {} : { base: base.id }) };
  store.keep(record);
  return record;
}

/** A per-function deployment's base, as a local copy; undefined for a whole deployment. */
export async function localBase(bundles: ObjectStore, store: DeploymentStore, entry: DeploymentRecord, recordOf: ClusterRecordOf, depth = 0): Promise<DeploymentRecord | undefined> {
  if (entry.only === undefined || entry.base === undefined) return undefined;
  const baseEntry = recordOf(entry.base);
  if (baseEntry === undefined || depth > MAX_CHAIN) throw new ServiceUnavailableError(`deployment ${entry.id} builds on ${entry.base}, which the cluster no longer keeps`);
  return localCopy(bundles, store, baseEntry, recordOf, depth + 1);
}

/** The chain of bases `entry` builds on, from the cluster's records, nearest first (what a version of it must keep). */
export function basesOf(entry: DeploymentRecord, recordOf: ClusterRecordOf): DeploymentRecord[] {
  const bases: DeploymentRecord[] = [];
  for (let at = entry; at.only !== undefined && at.base !== undefined && bases.length <= MAX_CHAIN; ) {
    const base = recordOf(at.base);
    if (base === undefined) break;
    bases.push(base);
    at = base;
  }
  return bases;
}
