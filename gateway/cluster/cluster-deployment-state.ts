/**
 * The value of key `current` in the KV bucket `edgefc-deployments` (cluster-buckets.ts): the
 * deployment every gateway of the cluster serves, and the ones before it, as JSON:
 *
 *   {"current": DEPLOYMENT, "history": [DEPLOYMENT, …]}     history oldest first, ending with current
 *
 * A DEPLOYMENT has the fields of §9.10 (`id` `d1`, `d2`, … in the cluster's order, `sha256` naming
 * its bundle in the object store `edgefc-bundles`); a per-function deployment (§9.9.4) has
 * `only` and `base`, the cluster's id of the deployment whose other functions it serves, kept in
 * the history as long as one building on it is. The key's KV revision orders changes: every change is a
 * compare-and-set on the revision read (cluster-deployments.ts), so two deploys at once cannot
 * both move it.
 */
import { InternalError } from 'edgefc/errors';
import type { DeploymentRecord } from '../deployments/deployment-store.js';

export const CURRENT_KEY = 'current';

export interface ClusterDeploymentState {
  current: DeploymentRecord;
  /** Oldest first; the last is `current`. */
  history: DeploymentRecord[];
}

export function encodeState(state: ClusterDeploymentState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(state));
}

/** A value no gateway of this version wrote is refused, never half-applied. */
export function decodeState(bytes: Uint8Array): ClusterDeploymentState {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new InternalError('the cluster\'s deployment record is not JSON', { cause: error });
  }
  const state = value as Partial<ClusterDeploymentState> | null;
  if (state === null || typeof state !== 'object' || !isRecord(state.current) || !Array.isArray(state.history) || !state.history.every(isRecord)) {
    throw new InternalError('the cluster\'s deployment record is not one this gateway understands (docs/cluster.md)');
  }
  return state as ClusterDeploymentState;
}

function isRecord(value: unknown): value is DeploymentRecord {
  const r = value as Partial<DeploymentRecord> | null;
  return (
    r !== null &&
    typeof r === 'object' &&
    typeof r.id === 'string' &&
    /^d[0-9]{1,12}$/.test(r.id) &&
    typeof r.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(r.sha256) &&
    typeof r.bytes === 'number' &&
    typeof r.template === 'string' &&
    Array.isArray(r.functions) &&
    Array.isArray(r.removed)
  );
}

/** The id after the newest of `state` (`d1` for an empty cluster). */
export function nextId(state: ClusterDeploymentState | undefined): string {
  const last = state?.history.at(-1)?.id ?? state?.current.id;
  return `d${last === undefined ? 1 : Number(last.slice(1)) + 1}`;
}

/**
 * `state` with `entry` made current, and the history cut to its newest `keep` (always keeping
 * the new current and the one before it, what a rollback without an id serves), and the bases
 * kept ones build on (a gateway applying a per-function deployment needs its base's bundle, as
 * DeploymentStore.prune keeps them on one box). Returns the records dropped, whose bundles may go
 * when no kept record shares them.
 */
export function withCurrent(state: ClusterDeploymentState | undefined, entry: DeploymentRecord, keep: number): { state: ClusterDeploymentState; dropped: DeploymentRecord[] } {
  const all = [...(state?.history ?? []), entry];
  const ids = new Set(all.slice(-Math.max(keep, 2)).map((r) => r.id));
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of all) {
      if (ids.has(r.id) && r.only !== undefined && r.base !== undefined && !ids.has(r.base) && all.some((b) => b.id === r.base)) {
        ids.add(r.base);
        changed = true;
      }
    }
  }
  return { state: { current: entry, history: all.filter((r) => ids.has(r.id)) }, dropped: all.filter((r) => !ids.has(r.id)) };
}
