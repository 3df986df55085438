/**
 * Service versions and aliases as state (docs/protocol.md §9.14–§9.15), kept next to the
 * deployments so a restart serves them again:
 *
 *   <data>/versions.json   { services: { S: { nextVersion, versions: [...], aliases: [...] } } }
 *
 * A version does not copy code: it names the deployment that served the service when it was
 * published (deployments are content-addressed state, deployment-store.ts), and pruning keeps
 * every deployment a version names. The file is replaced whole by a durable rename.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface VersionRecord {
  /** "1", "2", … per service, never reused (FC's versionId). */
  versionId: string;
  description: string;
  /** ISO 8601. */
  createdAt: string;
  principal: string;
  /** The deployment whose functions of this service the version serves. */
  deployment: string;
  /** The service's functions at publish time. */
  functions: string[];
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

const FILE = 'versions.json';

export class VersionStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.resolve(dataDir, FILE);
  }

  load(): VersionsState {
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
