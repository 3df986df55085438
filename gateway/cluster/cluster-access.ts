/**
 * The access file in a cluster (NATS mode, docs/security.md §11): principals, roles, groups and
 * hashes are the same on every gateway, so a device added on one box may call through any.
 *
 * The cluster's copy — key `file` of the KV bucket `edgefc-access` (cluster-buckets.ts), JSON
 * `{"text", "sha256", "by", "at"}` — is authoritative. Each gateway keeps its local access file
 * (`--access`, 0600) equal to it, and remembers which cluster revision its file last matched
 * (`<data>/access-cluster.json`, the *base*), which tells a local edit from a stale copy without
 * trusting any clock:
 *
 * - local file = cluster copy: nothing to do (the base moves to the cluster's revision);
 * - the local file changed since the base (`edgefc users add` on this box), and the cluster has
 *   not moved since: the local file is published, a compare-and-set on the base revision;
 * - both changed: the cluster's copy wins; the local file is kept beside it as
 *   `ACCESS.conflict-TIME` (0600) and the log says so, to be merged by hand with `edgefc users`;
 * - otherwise (the cluster moved, or this gateway never synced): the cluster's copy is written
 *   over the local file, atomically and 0600 (private-file.ts).
 *
 * An empty cluster takes the first gateway's file (create-if-absent). A copy that does not parse
 * is never written or published (the previous one stays, logged). The gateway's AccessControl
 * follows the local file as it always does (access-file-watch.ts), so its CallPolicy follows the
 * cluster. nats-server's own users and permissions (authorization.conf) are not changed here:
 * `edgefc broker-config nats` and a reload of every node remain the operator's (security.md §11).
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { hostname } from 'node:os';
import type { KV, KvEntry } from '@nats-io/kv';
import { ServiceUnavailableError } from 'edgefc/errors';
import type { Logger } from '../logging/logger.js';
import { parseAccessText } from '../security/access-file.js';
import { isWrongLastSequence } from './kv-conflict.js';
import { readPrivateFile, writeSecretFile } from '../security/private-file.js';

export const ACCESS_KEY = 'file';
const BASE_FILE = 'access-cluster.json';

interface ClusterCopy {
  text: string;
  sha256: string;
  /** The gateway host that published it, and when (for people reading the bucket). */
  by: string;
  at: string;
}

/** The cluster revision and content the local file last matched. */
interface Base {
  revision: number;
  sha256: string;
}

export class ClusterAccess {
  readonly #kv: KV;
  readonly #path: string;
  readonly #baseFile: string;
  readonly #logger: Logger;
  #base: Base | undefined;
  #queue: Promise<void> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  #stopWatch: (() => void) | undefined;
  #closed = false;

  private constructor(kv: KV, accessFile: string, dataDir: string, logger: Logger, base: Base | undefined) {
    this.#kv = kv;
    this.#path = accessFile;
    this.#baseFile = join(dataDir, BASE_FILE);
    this.#logger = logger;
    this.#base = base;
  }

  /** At start, before the access file is read: the local file made the cluster's (or published, or the cluster's first). */
  static async open(kv: KV, options: { accessFile: string; dataDir: string; logger: Logger }): Promise<ClusterAccess> {
    const base = await readBase(join(options.dataDir, BASE_FILE));
    const access = new ClusterAccess(kv, options.accessFile, options.dataDir, options.logger, base);
    await access.#sync('start');
    return access;
  }

  /** Follow both sides from now on: the local file (edgefc users) and the cluster's key. */
  follow(): void {
    const name = basename(this.#path);
    try {
      // Not persistent: it must not keep a stopped gateway's process alive. The directory, as
      // the file is replaced by a rename (access-file-watch.ts).
      this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, file) => {
        if (file === null || file === name) this.#schedule('local change');
      });
      this.#watcher.on('error', (error) => this.#logger.warn('cannot watch the access file for changes to publish', { error: String(error) }));
    } catch (error) {
      this.#logger.warn('cannot watch the access file for changes to publish', { error: String(error) });
    }
    const run = async (): Promise<void> => {
      const iterator = await this.#kv.watch({ key: ACCESS_KEY });
      this.#stopWatch = () => iterator.stop();
      if (this.#closed) iterator.stop();
      for await (const entry of iterator) {
        if (entry.operation === 'PUT' && entry.revision !== this.#base?.revision) this.#schedule('cluster change');
      }
    };
    run().catch((error: unknown) => this.#logger.error('stopped following the cluster\'s access file', { error: String(error) }));
    // A change made between the start's sync and the watches.
    this.#schedule('follow');
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#stopWatch?.();
  }

  #schedule(reason: string): void {
    this.#queue = this.#queue
      .then(() => (this.#closed ? undefined : this.#sync(reason)))
      .catch((error: unknown) => this.#logger.warn('cannot bring the access file and the cluster\'s copy together; will try at the next change', { reason, error: String(error) }));
  }

  async #sync(reason: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      if (await this.#syncOnce(reason)) return;
    }
    throw new ServiceUnavailableError('the cluster\'s access file kept changing while this gateway synced it');
  }

  /** One pass; false when a compare-and-set lost and it must read again. */
  async #syncOnce(reason: string): Promise<boolean> {
    const local = await readPrivateFile(this.#path);
    const localSha = local === undefined ? undefined : digest(local);
    const entry = await this.#read();
    const cluster = entry === undefined ? undefined : { copy: entry.json<ClusterCopy>(), revision: entry.revision };
    if (cluster === undefined) {
      if (local === undefined || localSha === undefined || !this.#valid(local, 'this gateway\'s access file')) return true;
      const revision = await this.#write(local, localSha, undefined);
      if (revision === undefined) return false;
      this.#logger.info('the cluster had no access file: this gateway\'s is its first', { principals: parseAccessText(local, this.#path).size });
      return true;
    }
    if (cluster.copy.sha256 === localSha) {
      await this.#setBase({ revision: cluster.revision, sha256: cluster.copy.sha256 });
      return true;
    }
    const editedHere = local !== undefined && localSha !== undefined && this.#base !== undefined && localSha !== this.#base.sha256;
    if (editedHere && this.#base?.revision === cluster.revision) {
      if (!this.#valid(local, 'this gateway\'s access file')) return true;
      const revision = await this.#write(local, localSha, cluster.revision);
      if (revision === undefined) return false;
      this.#logger.info('access file published to the cluster: every gateway takes it', { reason, revision });
      return true;
    }
    if (!this.#valid(cluster.copy.text, 'the cluster\'s access file')) return true;
    if (editedHere) {
      const aside = `${this.#path}.conflict-${new Date().toISOString().replaceAll(':', '-')}`;
      await writeSecretFile(aside, local);
      this.#logger.warn('the access file was changed here and in the cluster: the cluster\'s copy is kept, this one is saved aside (merge it with edgefc users)', { aside });
    } else if (this.#base === undefined && local !== undefined) {
      this.#logger.info('the cluster\'s access file replaces this gateway\'s (the cluster\'s copy is authoritative)', { file: this.#path });
    }
    await writeSecretFile(this.#path, cluster.copy.text);
    await this.#setBase({ revision: cluster.revision, sha256: cluster.copy.sha256 });
    this.#logger.info('access file taken from the cluster', { reason, revision: cluster.revision, by: cluster.copy.by });
    return true;
  }

  async #read(): Promise<KvEntry | undefined> {
    try {
      const entry = await this.#kv.get(ACCESS_KEY);
      return entry === null || entry.operation !== 'PUT' ? undefined : entry;
    } catch (error) {
      throw new ServiceUnavailableError(`cannot read the cluster's access file: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  /** Publish `text` with a compare-and-set on `revision` (create when undefined); undefined when another moved it first. */
  async #write(text: string, sha256: string, revision: number | undefined): Promise<number | undefined> {
    const value = JSON.stringify({ text, sha256, by: hostname(), at: new Date().toISOString() } satisfies ClusterCopy);
    let written: number;
    try {
      written = revision === undefined ? await this.#kv.create(ACCESS_KEY, value) : await this.#kv.update(ACCESS_KEY, value, revision);
    } catch (error) {
      if (isWrongLastSequence(error)) return undefined;
      throw error;
    }
    await this.#setBase({ revision: written, sha256 });
    return written;
  }

  #valid(text: string, what: string): boolean {
    try {
      parseAccessText(text, this.#path);
      return true;
    } catch (error) {
      this.#logger.error(`${what} does not parse: not shared; the previous one stays in force`, { error: error instanceof Error ? error.message : String(error) });
      return false;
    }
  }

  async #setBase(base: Base): Promise<void> {
    if (this.#base?.revision === base.revision && this.#base.sha256 === base.sha256) return;
    this.#base = base;
    await writeSecretFile(this.#baseFile, `${JSON.stringify(base)}\n`);
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function readBase(file: string): Promise<Base | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<Base>;
    return typeof value.revision === 'number' && typeof value.sha256 === 'string' ? { revision: value.revision, sha256: value.sha256 } : undefined;
  } catch {
    return undefined;
  }
}
