/**
 * Where service versions and aliases are kept (docs/protocol.md §9.14–§9.15), behind one small
 * interface (`VersionStateStore`) that `Versions` (versions.ts) talks to:
 *
 * - one box: `VersionStore`, the file next to the deployments, so a restart serves them again:
 *
 *     <data>/versions.json   { services: { S: { nextVersion, versions: [...], aliases: [...] } } }
 *
 *   replaced whole by a durable rename;
 * - NATS mode: `ClusterVersionStore` (cluster/cluster-versions.ts), a key per service in the KV
 *   bucket `edgefc-versions`, changed by compare-and-set and followed by every gateway.
 *
 * A version does not copy code: it names the deployment that served the service when it was
 * published (deployments are content-addressed state, deployment-store.ts), and pruning keeps
 * every deployment a version names.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DeploymentRecord } from '../deployments/deployment-store.js';

export interface VersionRecord {
  /** "1", "2", … per service, never reused (FC's versionId). */
  versionId: string;
  description: string;
  /** ISO 8601. */
  createdAt: string;
  principal: string;
  /** The deployment whose functions of this service the version serves (in NATS mode the cluster's id). */
  deployment: string;
  /** The service's functions at publish time. */
  functions: string[];
  /**
   * NATS mode: the cluster's record of `deployment`, kept whole: the cluster's history drops it
   * after --keep-deployments, and a gateway that has no copy of it fetches its bundle (pinned in
   * the object store while a version names it) from this record. Not part of §9.14's VERSION.
   */
  clusterDeployment?: DeploymentRecord;
  /** NATS mode, a per-function deployment (§9.9.4): the cluster's records of the bases it builds on, nearest first, pinned as it is. */
  clusterBases?: DeploymentRecord[];
}

export interface AliasRecord {
  aliasName: string;
  versionId: string;
  description: string;
  /** FC's additionalVersionWeight: { versionId: weight in 0..1 }, at most one entry here. */
  additionalVersionWeight: Record<string, number>;
  createdAt: string;
  updatedAt: string;
}

export interface ServiceVersions {
  /** Version numbers are never reused, even after a delete (as FC). */
  nextVersion: number;
  versions: VersionRecord[];
  aliases: AliasRecord[];
}

export interface VersionsState {
  services: Record<string, ServiceVersions>;
}

/** One change to a service's versions: the state to keep, and what the operation answers. Throws to change nothing. */
export type VersionChange<T> = (kept: ServiceVersions | undefined) => { next: ServiceVersions; result: T };

/** What `Versions` needs of the place its state is kept. */
export interface VersionStateStore {
  /** Every service's versions and aliases (at start). */
  load(): Promise<VersionsState>;
  /**
   * Apply `change` to the service's latest kept state and keep the result. A store shared by
   * several writers (the cluster's) runs it on what it read and writes with a compare-and-set,
   * reading and running it again when another writer was first, so no write is lost.
   * Returns the operation's result and the state now kept (the newest known: a later change by
   * another writer may have come first).
   */
  update<T>(service: string, change: VersionChange<T>): Promise<{ result: T; kept: ServiceVersions }>;
  /**
   * Changes made by other writers (the cluster's other gateways), one service at a time; none
   * for a file. `latest` gives the newest state known when it is called (later changes may have
   * come meanwhile: what is served never goes back to an older one).
   */
  follow?(onChange: (service: string, latest: () => ServiceVersions) => void): void;
}

const FILE = 'versions.json';

/** One box's versions: `<data>/versions.json`. */
export class VersionStore implements VersionStateStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.resolve(dataDir, FILE);
  }

  load(): Promise<VersionsState> {
    return Promise.resolve(this.read());
  }

  /** One gateway writes the file, one change at a time (Versions serialises them): read, change, replace. */
  update<T>(service: string, change: VersionChange<T>): Promise<{ result: T; kept: ServiceVersions }> {
    try {
      const state = this.read();
      const { next, result } = change(state.services[service]);
      this.save({ services: { ...state.services, [service]: next } });
      return Promise.resolve({ result, kept: next });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  read(): VersionsState {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { services: {} };
      throw error;
    }
    const state = JSON.parse(text) as VersionsState;
    return typeof state === 'object' && state !== null && typeof state.services === 'object' ? state : { services: {} };
  }

  /** Write to a temporary name, fsync, rename: a restart sees the old state or the new, whole. */
  save(state: VersionsState): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}
