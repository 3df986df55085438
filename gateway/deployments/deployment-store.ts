/**
 * Deployments kept in the data directory (docs/lifecycle.md "Deployments"), so that a restart
 * serves the last one and an operator can roll back:
 *
 *   <data>/deployments/<id>/bundle           the bundle as uploaded or packed (bundle-format.ts)
 *   <data>/deployments/<id>/files/...        the bundle unpacked: what the gateway serves
 *   <data>/deployments/<id>/deployment.json  id, time, principal, sha256, functions (written last)
 *   <data>/deployments/CURRENT               the id served (replaced by rename)
 *
 * A directory without deployment.json is a deploy that never completed (refused, or the gateway
 * died): it is removed at open and never served.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, fsyncSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeBundle } from './bundle-format.js';

export interface DeploymentRecord {
  id: string;
  /** ISO 8601. */
  createdAt: string;
  /** Who asked for it: the operator's principal, or `local` (start, SIGHUP). */
  principal: string;
  /** `upload` (edgefc deploy), `function` (edgefc deploy --function), `path` (a template on the gateway's machine), `rollback`, `remove`. */
  source: 'upload' | 'path' | 'rollback' | 'remove' | 'function';
  /** sha256 of the bundle, hex. */
  sha256: string;
  bytes: number;
  /** The template's path inside the bundle. */
  template: string;
  /** Functions it serves, `S/F`. */
  functions: string[];
  /** Functions of the bundle it does not serve (`edgefc remove`). */
  removed: string[];
  /** Rollback and remove: the deployment whose bundle it reuses. */
  from?: string;
  /**
   * A per-function deploy (`edgefc deploy --function S/F`): only this function comes from the
   * bundle; every other is served as deployment `base` serves it.
   */
  only?: string;
  base?: string;
  /**
   * NATS mode: the cluster's deployment this one serves (cluster/cluster-deployments.ts), whose
   * id it takes when that id is free here.
   */
  cluster?: string;
}

const CURRENT = 'CURRENT';
const META = 'deployment.json';

export class DeploymentStore {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static open(dataDir: string): DeploymentStore {
    // Absolute: served template paths (absolute, load-template.ts) are told apart by this prefix.
    const dir = path.resolve(dataDir, 'deployments');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(dir)) {
      if (name !== CURRENT && !existsSync(path.join(dir, name, META))) rmSync(path.join(dir, name), { recursive: true, force: true });
    }
    return new DeploymentStore(dir);
  }

  /** Every deployment, oldest first. */
  list(): DeploymentRecord[] {
    const records: DeploymentRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name === CURRENT) continue;
      try {
        records.push(JSON.parse(readFileSync(path.join(this.dir, name, META), 'utf8')) as DeploymentRecord);
      } catch {
        // Half-written by a deploy in progress; open() removes what a dead one left.
      }
    }
    return records.sort((a, b) => sequence(a.id) - sequence(b.id));
  }

  get(id: string): DeploymentRecord | undefined {
    return this.list().find((record) => record.id === id);
  }

  current(): DeploymentRecord | undefined {
    let id: string;
    try {
      id = readFileSync(path.join(this.dir, CURRENT), 'utf8').trim();
    } catch {
      return undefined;
    }
    return this.get(id);
  }

  /** Where a deployment's template is unpacked. */
  templatePath(record: DeploymentRecord): string {
    return path.join(this.dir, record.id, 'files', ...record.template.split('/'));
  }

  bundle(record: DeploymentRecord): Buffer {
    return readFileSync(path.join(this.dir, record.id, 'bundle'));
  }

  /**
   * Write a bundle and unpack it under a new id; nothing is listed until `commit`. Returns the
   * id and the unpacked template's path. `preferredId` (a cluster deployment's, NATS mode) is
   * taken when it comes after every kept one, so ids stay in order.
   */
  stage(bytes: Buffer, preferredId?: string): { id: string; templatePath: string; template: string; sha256: string } {
    const bundle = decodeBundle(bytes);
    const last = this.list().at(-1);
    let n = last === undefined ? 1 : sequence(last.id) + 1;
    if (preferredId !== undefined && sequence(preferredId) > n) n = sequence(preferredId);
    while (existsSync(path.join(this.dir, `d${n}`))) n += 1;
    const id = `d${n}`;
    const root = path.join(this.dir, id);
    const files = path.join(root, 'files');
    mkdirSync(files, { recursive: true, mode: 0o700 });
    writeDurable(path.join(root, 'bundle'), bytes);
    for (const file of bundle.files) {
      const target = path.join(files, ...file.path.split('/'));
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, file.data, { mode: file.mode });
      chmodSync(target, file.mode);
    }
    return { id, templatePath: path.join(files, ...bundle.template.split('/')), template: bundle.template, sha256: sha256(bytes) };
  }

  /** A staged deployment that was refused: gone, as if never asked for. */
  discard(id: string): void {
    rmSync(path.join(this.dir, id), { recursive: true, force: true });
  }

  /** List the deployment and make it the one served (each step a durable rename). */
  commit(record: DeploymentRecord): void {
    this.keep(record);
    this.setCurrent(record.id);
  }

  /**
   * List a staged deployment without serving it: NATS mode, a cluster deployment a service
   * version names that this gateway had no copy of (cluster/cluster-version-deployments.ts).
   */
  keep(record: DeploymentRecord): void {
    writeDurable(path.join(this.dir, record.id, META), Buffer.from(`${JSON.stringify(record, null, 2)}\n`));
  }

  /**
   * Remove old deployments: all but the newest `keep`, and never the current one, the one before
   * it (what `deploy --rollback` without an id serves), nor a deployment a kept one builds on
   * (`base` of a per-function deploy, whose template it serves). A deployment's directory holds
   * its bundle and unpacked files, so its code goes with it; staged copies of code
   * (`<data>/code`) are content-addressed and removed by containment once no served function uses
   * them. deployment.json goes first: a directory left without it by a crash is removed at open.
   * Deployments in `pinned` (those a service version serves, versions/versions.ts) are kept too.
   * Returns the ids removed, oldest first.
   */
  prune(keep: number, pinned: ReadonlySet<string> = new Set()): string[] {
    const records = this.list();
    const kept = new Set([...records.slice(-keep).map((r) => r.id), ...records.filter((r) => pinned.has(r.id)).map((r) => r.id)]);
    const current = this.current();
    if (current !== undefined) {
      kept.add(current.id);
      const at = records.findIndex((r) => r.id === current.id);
      if (at > 0) kept.add((records[at - 1] as DeploymentRecord).id);
    }
    // Close over `base`: a per-function deployment serves its base's other functions.
    for (let changed = true; changed; ) {
      changed = false;
      for (const r of records) {
        if (kept.has(r.id) && r.base !== undefined && !kept.has(r.base)) {
          kept.add(r.base);
          changed = true;
        }
      }
    }
    const removed: string[] = [];
    for (const r of records) {
      if (kept.has(r.id)) continue;
      rmSync(path.join(this.dir, r.id, META), { force: true });
      rmSync(path.join(this.dir, r.id), { recursive: true, force: true });
      removed.push(r.id);
    }
    return removed;
  }

  setCurrent(id: string): void {
    writeDurable(path.join(this.dir, CURRENT), Buffer.from(`${id}\n`));
  }
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sequence(id: string): number {
  return Number(id.slice(1)) || 0;
}

/** Write to a temporary name, fsync, rename: a reader sees the old file or the new, whole. */
function writeDurable(file: string, bytes: Buffer): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o600 });
  const fd = openSync(tmp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
