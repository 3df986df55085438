/**
 * Service versions and aliases kept in the cluster (NATS mode, docs/cluster.md "Versions and
 * aliases", protocol §9.14a): the KV bucket `edgefc-versions` (cluster-buckets.ts) holds a key
 * per service, named as the service, whose value is its `ServiceVersions` as JSON
 * (`{"nextVersion", "versions", "aliases"}`, version-store.ts). In NATS mode a version names the
 * cluster's deployment and carries its record (`clusterDeployment`, and for a per-function one
 * the bases it builds on, `clusterBases`), whose bundles stay in the object store while a version
 * names them (`pinnedBundles`).
 *
 * - Every change (publish, delete, an alias) is run on the key's latest value and written with a
 *   compare-and-set on the revision read; when another gateway wrote first, it is read and run
 *   again (checks included), so two gateways publishing at once get distinct numbers and no
 *   write is lost. A key that keeps moving for 10 attempts is `DeployConflict`.
 * - Every gateway reads every key at start (before it joins the queue group) and then watches
 *   the bucket: a version published on one gateway is served by all.
 * - Keys are never deleted: `nextVersion` must survive the deletion of every version (§9.14).
 */
import type { KV, KvEntry } from '@nats-io/kv';
import { DeployConflictError, InternalError, ServiceUnavailableError } from 'edgefc/errors';
import type { Logger } from '../logging/logger.js';
import type { ServiceVersions, VersionChange, VersionsState, VersionStateStore } from '../versions/version-store.js';
import { isWrongLastSequence } from './kv-conflict.js';

/** Compare-and-set attempts before a change is given up: each lost one means another gateway's change was kept. */
const MAX_ATTEMPTS = 10;

export class ClusterVersionStore implements VersionStateStore {
  readonly #kv: KV;
  readonly #logger: Logger;
  /**
   * The newest value known per key, from a read, a write or the watch, whichever came last: the
   * watch skips what is older, and what `Versions` serves is always the newest (a change it made
   * may return after the watch brought a later one).
   */
  readonly #latest = new Map<string, { revision: number; kept: ServiceVersions }>();
  #stopWatch: (() => void) | undefined;
  #closed = false;

  constructor(kv: KV, logger: Logger) {
    this.#kv = kv;
    this.#logger = logger;
  }

  async load(): Promise<VersionsState> {
    const services: Record<string, ServiceVersions> = {};
    try {
      for (const key of await readKeys(this.#kv)) {
        const entry = await this.#kv.get(key);
        if (entry === null || entry.operation !== 'PUT') continue;
        services[key] = this.#remember(key, entry.revision, decodeServiceVersions(entry.value, key));
      }
    } catch (error) {
      if (error instanceof InternalError) throw error;
      throw unavailable('read', error);
    }
    return { services };
  }

  async update<T>(service: string, change: VersionChange<T>): Promise<{ result: T; kept: ServiceVersions }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      let entry: KvEntry | null;
      try {
        entry = await this.#kv.get(service);
      } catch (error) {
        throw unavailable('read', error);
      }
      const { next, result } = change(entry !== null && entry.operation === 'PUT' ? decodeServiceVersions(entry.value, service) : undefined);
      const value = JSON.stringify(next);
      let revision: number;
      try {
        revision = entry === null ? await this.#kv.create(service, value) : await this.#kv.update(service, value, entry.revision);
      } catch (error) {
        if (isWrongLastSequence(error)) continue;
        throw unavailable('write', error);
      }
      return { result, kept: this.#remember(service, revision, next) };
    }
    throw new DeployConflictError(`the versions of service "${service}" kept changing on other gateways (${MAX_ATTEMPTS} compare-and-set attempts lost): nothing was changed; see edgefc versions list, then try again`);
  }

  follow(onChange: (service: string, latest: () => ServiceVersions) => void): void {
    const run = async (): Promise<void> => {
      const iterator = await this.#kv.watch();
      this.#stopWatch = () => iterator.stop();
      if (this.#closed) iterator.stop();
      for await (const entry of iterator) {
        if (entry.operation !== 'PUT' || entry.revision <= (this.#latest.get(entry.key)?.revision ?? 0)) continue;
        try {
          const kept = this.#remember(entry.key, entry.revision, decodeServiceVersions(entry.value, entry.key));
          onChange(entry.key, () => this.#latest.get(entry.key)?.kept ?? kept);
        } catch (error) {
          this.#logger.error('a change of the cluster\'s versions is not one this gateway understands: not taken', { service: entry.key, revision: entry.revision, error: error instanceof Error ? error.message : String(error) });
        }
      }
    };
    run().catch((error: unknown) => this.#logger.error('stopped following the cluster\'s versions: this gateway serves the versions it has until restarted', { error: String(error) }));
  }

  close(): void {
    this.#closed = true;
    this.#stopWatch?.();
  }

  /** Keep `kept` as the key's value if `revision` is the newest seen; returns the newest. */
  #remember(service: string, revision: number, kept: ServiceVersions): ServiceVersions {
    const known = this.#latest.get(service);
    if (known !== undefined && known.revision >= revision) return known.kept;
    this.#latest.set(service, { revision, kept });
    return kept;
  }
}

/** The sha256 of every bundle a kept version names: never removed from the object store. */
export async function pinnedBundles(kv: KV): Promise<Set<string>> {
  const pinned = new Set<string>();
  for (const key of await readKeys(kv)) {
    const entry = await kv.get(key);
    if (entry === null || entry.operation !== 'PUT') continue;
    for (const version of decodeServiceVersions(entry.value, key).versions) {
      for (const record of [version.clusterDeployment, ...(version.clusterBases ?? [])]) {
        if (record !== undefined) pinned.add(record.sha256);
      }
    }
  }
  return pinned;
}

async function readKeys(kv: KV): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  return keys;
}

/** A value no gateway of this version wrote is refused, never half-applied. */
export function decodeServiceVersions(bytes: Uint8Array, service: string): ServiceVersions {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new InternalError(`the cluster's versions of service "${service}" are not JSON`, { cause: error });
  }
  const kept = value as Partial<ServiceVersions> | null;
  if (
    kept === null ||
    typeof kept !== 'object' ||
    typeof kept.nextVersion !== 'number' ||
    !Array.isArray(kept.versions) ||
    !kept.versions.every((v) => typeof v?.versionId === 'string' && typeof v.deployment === 'string' && Array.isArray(v.functions)) ||
    !Array.isArray(kept.aliases) ||
    !kept.aliases.every((a) => typeof a?.aliasName === 'string' && typeof a.versionId === 'string' && typeof a.additionalVersionWeight === 'object')
  ) {
    throw new InternalError(`the cluster's versions of service "${service}" are not a value this gateway understands (docs/cluster.md)`);
  }
  return kept as ServiceVersions;
}

function unavailable(what: 'read' | 'write', error: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(`cannot ${what} the cluster's versions: ${error instanceof Error ? error.message : String(error)}${what === 'write' ? '; nothing was changed' : ''}`, { cause: error });
}
