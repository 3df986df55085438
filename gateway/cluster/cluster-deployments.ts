/**
 * Deployments kept in the cluster (NATS mode, docs/cluster.md "Deployments"), so that every
 * gateway serves the same functions and a deploy to one is a deploy to all:
 *
 * - A deploy (§9.9 upload, whole or per-function, §9.7 path, §9.10 rollback, §9.11 remove) reaches one gateway through
 *   the queue group. That gateway checks it as a start would (the bundle unpacked aside, its
 *   template loaded, names NATS cannot carry refused, §2.7), puts the bundle in the object store,
 *   then moves key `current` of the KV bucket with a compare-and-set on the revision it read
 *   (cluster-deployment-state.ts). Of two deploys at once, one moves it and the other is told
 *   `DeployConflict`: it was applied nowhere.
 * - Every gateway watches the key and applies each new value as a local deploy
 *   (Deployments.applyCluster: staged, placed, switched by the Deployer), the bundle fetched and
 *   checked first (cluster-bundles.ts). The deploy's reply is sent when the gateway that took it
 *   serves it (or could not: its error), the others follow on their own.
 * - At start (`atStart`), before the gateway joins the queue group, it serves the cluster's
 *   deployment; its `--template` only seeds an empty cluster (create-if-absent).
 */
import { DeployConflictError, FunctionNotFoundError, InvalidArgumentError, ServiceUnavailableError, toEdgeFCError } from 'edgefc/errors';
import type { KvEntry } from '@nats-io/kv';
import { decodeBundle } from '../deployments/bundle-format.js';
import { sha256, type DeploymentRecord, type DeploymentStore } from '../deployments/deployment-store.js';
import type { DeploymentOperations } from '../deployments/deployment-operations.js';
import { DEFAULT_KEEP_DEPLOYMENTS, emptyTemplate, LOCAL_PRINCIPAL, relabel, served, type DeploymentResult, type DeploymentView, type Deployments } from '../deployments/deployments.js';
import { packTemplate } from '../deployments/pack-bundle.js';
import type { Logger } from '../logging/logger.js';
import { loadTemplate } from '../registry/load-template.js';
import type { Template } from '../registry/types.js';
import { dropBundles, fetchBundle, putBundle } from './cluster-bundles.js';
import type { ClusterBuckets } from './cluster-buckets.js';
import { CURRENT_KEY, decodeState, encodeState, nextId, withCurrent, type ClusterDeploymentState } from './cluster-deployment-state.js';
import { isWrongLastSequence } from './kv-conflict.js';
import { localBase, localCopy, type ClusterRecordOf } from './cluster-local-copy.js';
import { assertNatsTemplate } from './nats-template-names.js';

/** What a deploy's reply waits for: the gateway that took it serving it, or failing to. */
type Outcome = { result: DeploymentResult } | { error: unknown };

/** Outcomes kept for deploys whose reply has not asked yet (the watch may apply before the CAS returns). */
const KEPT_OUTCOMES = 32;

export interface ClusterDeploymentsOptions {
  buckets: ClusterBuckets;
  /** This gateway's own deployments: where each cluster deployment is applied. */
  local: Deployments;
  /** A store aside (`<data>/cluster-check/`) where a deploy's bundle is unpacked to be checked. */
  check: DeploymentStore;
  logger: Logger;
  maxBundleBytes: number;
  /** Revision of key `current` served at start (atStart). */
  applied: number;
  /** @default 10, as --keep-deployments */
  keepDeployments?: number;
  /**
   * Bundles (sha256) a service version names (cluster-versions.ts): never removed, whatever the
   * history drops. When they cannot be read, no bundle is removed at that move.
   * @default none
   */
  pinnedBundles?: () => Promise<ReadonlySet<string>>;
}

export class ClusterDeployments implements DeploymentOperations {
  readonly #options: ClusterDeploymentsOptions;
  readonly #keep: number;
  #applied: number;
  readonly #outcomes = new Map<number, Outcome>();
  readonly #waiters = new Map<number, ((outcome: Outcome) => void)[]>();
  #stopWatch: (() => void) | undefined;
  #closed = false;

  constructor(options: ClusterDeploymentsOptions) {
    this.#options = options;
    this.#keep = options.keepDeployments ?? DEFAULT_KEEP_DEPLOYMENTS;
    this.#applied = options.applied;
  }

  /**
   * What a gateway serves at start in NATS mode: the cluster's current deployment, fetched and
   * kept locally (a restart with it kept already serves it as it is). With an empty cluster,
   * `templatePath` becomes its first deployment (create-if-absent: of several gateways starting
   * at once, one seeds, the others serve what it seeded); without one, nothing serves until a
   * deploy. A `--template` differing from the cluster's deployment is not deployed: the cluster
   * wins, and the log says so.
   */
  static async atStart(options: { buckets: ClusterBuckets; store: DeploymentStore; templatePath: string | undefined; logger: Logger; maxBundleBytes: number }): Promise<{ template: Template; revision: number }> {
    const { buckets, store, templatePath, logger } = options;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const read = await readState(buckets);
      if (read.state === undefined) {
        if (templatePath === undefined) {
          logger.info('the cluster has no deployment yet: serving nothing until one is deployed (edgefc deploy)');
          return { template: emptyTemplate(), revision: read.revision };
        }
        await seed(buckets, templatePath, options.maxBundleBytes, logger);
        continue;
      }
      const entry = read.state.current;
      if (templatePath !== undefined) {
        const own = await packTemplate(templatePath, { maxBytes: options.maxBundleBytes }).catch(() => undefined);
        if (own?.sha256 !== entry.sha256 || entry.removed.length > 0) {
          logger.info('the cluster already serves a deployment: it serves here too, --template is not deployed (edgefc deploy changes what the cluster serves)', { deployment: entry.id, template: templatePath });
        }
      }
      const local = store.current();
      if (local?.cluster === entry.id) {
        logger.info('serving the cluster\'s deployment, kept here already', { deployment: entry.id, revision: read.revision });
        return { template: await served(store, local), revision: read.revision };
      }
      // Its bundle, and for a per-function deployment its bases' (§9.9.4), fetched unless kept here already.
      const recordOf: ClusterRecordOf = (id) => read.state?.history.find((r) => r.id === id);
      const had = store.list().some((r) => r.cluster === entry.id && r.sha256 === entry.sha256);
      const record = await localCopy(buckets.bundles, store, entry, recordOf);
      let template: Template;
      try {
        template = await served(store, record);
      } catch (error) {
        if (!had) store.discard(record.id);
        throw relabel(error, { template: record.template, templatePath: store.templatePath(record) });
      }
      store.setCurrent(record.id);
      logger.info('serving the cluster\'s deployment', { deployment: entry.id, revision: read.revision, principal: entry.principal, createdAt: entry.createdAt });
      return { template, revision: read.revision };
    }
    throw new ServiceUnavailableError('the cluster\'s deployment kept changing while this gateway started: try again');
  }

  /** Follow key `current`: apply each new deployment (once the link takes calls: a deploy changes its trigger subscriptions). */
  watch(): void {
    const run = async (): Promise<void> => {
      const iterator = await this.#options.buckets.deployments.watch({ key: CURRENT_KEY });
      this.#stopWatch = () => iterator.stop();
      if (this.#closed) iterator.stop();
      for await (const entry of iterator) {
        if (entry.operation !== 'PUT' || entry.revision <= this.#applied) continue;
        await this.#apply(entry);
      }
    };
    run()
      .catch((error: unknown) => this.#options.logger.error('stopped following the cluster\'s deployments: this gateway serves what it has until restarted', { error: String(error) }))
      // No deploy's reply waits for a watch that has ended.
      .finally(() => this.close());
  }

  close(): void {
    this.#closed = true;
    this.#stopWatch?.();
    for (const [revision, waiters] of this.#waiters) {
      for (const settle of waiters) settle({ error: new ServiceUnavailableError(`the gateway is stopping; the cluster's deployment (revision ${revision}) is deployed, the other gateways serve it`) });
    }
    this.#waiters.clear();
  }

  /**
   * §9.9.4. With `only` (`S/F`, a per-function deploy): a new cluster deployment that serves that
   * function from the bundle and every other as the cluster's current deployment (its `base`)
   * serves them; each gateway applies it on its copy of the base (cluster-local-copy.ts).
   */
  deployBundle(bytes: Buffer, principal: string, only?: string): Promise<DeploymentResult> {
    return this.#deployBytes(bytes, only === undefined ? 'upload' : 'function', principal, only);
  }

  /** §9.7 (`deploy {template}`) and SIGHUP: a template on this gateway's machine, packed and deployed to the cluster. */
  async deployPath(file: string, principal: string): Promise<DeploymentResult> {
    const packed = await packTemplate(file, { maxBytes: this.#options.maxBundleBytes });
    return this.#deployBytes(packed.bytes, 'path', principal);
  }

  /** §9.10: an earlier deployment of the cluster's history, as a new one (default: the one before the current). */
  async rollback(id: string | undefined, principal: string): Promise<DeploymentResult> {
    const read = await readState(this.#options.buckets);
    const history = read.state?.history ?? [];
    const at = history.findIndex((r) => r.id === read.state?.current.id);
    const target = id === undefined ? (at > 0 ? history[at - 1] : undefined) : history.find((r) => r.id === id);
    if (target === undefined) {
      throw new InvalidArgumentError(id === undefined ? 'there is no deployment before the current one to roll back to' : `no deployment ${id} in the cluster's history (edgefc deployments list)`);
    }
    return this.#move(read, { ...fieldsOf(target), id: nextId(read.state), createdAt: new Date().toISOString(), principal, source: 'rollback', from: target.id });
  }

  /** §9.11 */
  async remove(name: string, principal: string): Promise<DeploymentResult> {
    const read = await readState(this.#options.buckets);
    const current = read.state?.current;
    if (current === undefined || !current.functions.includes(name)) {
      throw new FunctionNotFoundError(`${name} is not in the cluster's current deployment${current === undefined ? '' : ` ${current.id}`}`);
    }
    return this.#move(read, {
      ...fieldsOf(current),
      id: nextId(read.state),
      createdAt: new Date().toISOString(),
      principal,
      source: 'remove',
      from: current.id,
      functions: current.functions.filter((fn) => fn !== name),
      removed: [...current.removed, name],
    });
  }

  /** §9.10: the cluster's history, oldest first. */
  async list(): Promise<DeploymentView[]> {
    const { state } = await readState(this.#options.buckets);
    return (state?.history ?? []).map((r) => ({ ...r, current: r.id === state?.current.id }));
  }

  async #deployBytes(bytes: Buffer, source: 'upload' | 'path' | 'function', principal: string, only?: string): Promise<DeploymentResult> {
    const read = await readState(this.#options.buckets);
    const base = read.state?.current;
    if (only !== undefined && base === undefined) throw new InvalidArgumentError(`no deployment to replace ${only} in: deploy the whole template first`);
    const checked = await this.#check(bytes);
    if (only !== undefined && !checked.functions.includes(only)) {
      throw new FunctionNotFoundError(`${only} is not in the uploaded template (${checked.functions.join(', ') || 'no functions'})`);
    }
    const digest = sha256(bytes);
    await putBundle(this.#options.buckets.bundles, bytes, digest);
    const entry: DeploymentRecord = {
      id: nextId(read.state),
      createdAt: new Date().toISOString(),
      principal,
      source,
      sha256: digest,
      bytes: bytes.length,
      template: checked.template,
      functions: checked.functions,
      removed: [],
    };
    if (only === undefined || base === undefined) return this.#move(read, entry);
    // As Deployments.#deployFunction on one box: the base's functions, with `only` replaced or added, and served again if it was removed.
    const removed = base.removed.filter((name) => name !== only);
    const functions = base.functions.includes(only) ? base.functions : [...base.functions, only];
    return this.#move(read, { ...entry, functions, removed, only, base: base.id });
  }

  /** The checks of a start, on a copy unpacked aside; nothing of it stays. */
  async #check(bytes: Buffer): Promise<{ template: string; functions: string[] }> {
    const { template } = decodeBundle(bytes);
    const store = this.#options.check;
    const staged = store.stage(bytes);
    try {
      const loaded = await loadTemplate(staged.templatePath);
      assertNatsTemplate(loaded, template);
      return { template, functions: loaded.functions.map((fn) => `${fn.serviceName}/${fn.name}`) };
    } catch (error) {
      throw relabel(error, staged);
    } finally {
      store.discard(staged.id);
    }
  }

  /** Compare-and-set key `current` from the revision read; then wait for this gateway to serve it. */
  async #move(read: { state: ClusterDeploymentState | undefined; revision: number }, entry: DeploymentRecord): Promise<DeploymentResult> {
    const { state, dropped } = withCurrent(read.state, entry, this.#keep);
    const kv = this.#options.buckets.deployments;
    let revision: number;
    try {
      revision = read.state === undefined ? await kv.create(CURRENT_KEY, encodeState(state)) : await kv.update(CURRENT_KEY, encodeState(state), read.revision);
    } catch (error) {
      if (isWrongLastSequence(error)) {
        throw new DeployConflictError(`another deploy changed the cluster's deployment first: ${entry.id} (${entry.source}) was applied nowhere; see edgefc deployments list, then deploy again`, { cause: error });
      }
      throw new ServiceUnavailableError(`cannot move the cluster's deployment: ${error instanceof Error ? error.message : String(error)}; nothing was deployed`, { cause: error });
    }
    this.#options.logger.info('cluster deployment moved', { deployment: entry.id, source: entry.source, principal: entry.principal, revision, sha256: entry.sha256 });
    await this.#dropUnused(dropped, state.history);
    const outcome = await this.#outcome(revision);
    if ('error' in outcome) throw outcome.error;
    return outcome.result;
  }

  /** The bundles of deployments the history dropped, unless a kept deployment or a version still uses them. */
  async #dropUnused(dropped: readonly DeploymentRecord[], kept: readonly DeploymentRecord[]): Promise<void> {
    if (dropped.length === 0) return;
    let pinned: ReadonlySet<string>;
    try {
      pinned = (await this.#options.pinnedBundles?.()) ?? new Set();
    } catch (error) {
      this.#options.logger.warn('cannot read which bundles the cluster\'s versions use: no bundle removed at this deploy', { error: error instanceof Error ? error.message : String(error) });
      return;
    }
    const gone = await dropBundles(this.#options.buckets.bundles, dropped, kept, pinned);
    if (gone.length > 0) this.#options.logger.info('old bundles removed from the cluster', { bundles: gone.length });
  }

  #outcome(revision: number): Promise<Outcome> {
    const known = this.#outcomes.get(revision);
    if (known !== undefined) return Promise.resolve(known);
    if (this.#closed) return Promise.resolve({ error: new ServiceUnavailableError('this gateway no longer follows the cluster\'s deployments (stopping, or its watch ended: see its log); the deployment is the cluster\'s, the other gateways serve it') });
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(revision) ?? [];
      waiters.push(resolve);
      this.#waiters.set(revision, waiters);
    });
  }

  async #apply(kvEntry: KvEntry): Promise<void> {
    let outcome: Outcome;
    let id = `revision ${kvEntry.revision}`;
    try {
      const state = decodeState(kvEntry.value);
      const entry = state.current;
      id = entry.id;
      const { bundles } = this.#options.buckets;
      const base = await localBase(bundles, this.#options.local.store, entry, (at) => state.history.find((r) => r.id === at));
      const bytes = await fetchBundle(bundles, entry);
      const result = await this.#options.local.applyCluster(bytes, entry, base);
      outcome = { result };
      this.#options.logger.info('serving the cluster\'s deployment', { deployment: entry.id, revision: kvEntry.revision, functions: result.functions, principal: entry.principal });
    } catch (error) {
      outcome = { error: toEdgeFCError(error) };
      this.#options.logger.error('this gateway cannot serve the cluster\'s deployment; it keeps serving what it served', { deployment: id, revision: kvEntry.revision, error: error instanceof Error ? error.message : String(error) });
    }
    this.#applied = kvEntry.revision;
    this.#settle(kvEntry.revision, outcome);
  }

  /** Settles the deploys waiting for `revision`, and those for earlier revisions the watch skipped (replaced before they were seen). */
  #settle(revision: number, outcome: Outcome): void {
    this.#outcomes.set(revision, outcome);
    for (const old of [...this.#outcomes.keys()].slice(0, -KEPT_OUTCOMES)) this.#outcomes.delete(old);
    for (const [waited, waiters] of this.#waiters) {
      if (waited > revision) continue;
      this.#waiters.delete(waited);
      const told: Outcome =
        waited === revision ? outcome : { error: new DeployConflictError(`the deployment was made, then replaced by a later deploy before this gateway applied it (revision ${revision} serves now)`) };
      for (const settle of waiters) settle(told);
    }
  }
}

/** Key `current`: the cluster's deployment and history, with the key's revision (0: never written). */
export async function readState(buckets: Pick<ClusterBuckets, 'deployments'>): Promise<{ state: ClusterDeploymentState | undefined; revision: number }> {
  let entry: KvEntry | null;
  try {
    entry = await buckets.deployments.get(CURRENT_KEY);
  } catch (error) {
    throw new ServiceUnavailableError(`cannot read the cluster's deployment: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (entry === null || entry.operation !== 'PUT') return { state: undefined, revision: entry?.revision ?? 0 };
  return { state: decodeState(entry.value), revision: entry.revision };
}

/** An empty cluster's first deployment: this gateway's --template (create-if-absent; losing the race is fine). */
async function seed(buckets: ClusterBuckets, templatePath: string, maxBytes: number, logger: Logger): Promise<void> {
  const packed = await packTemplate(templatePath, { maxBytes }).catch((error: unknown) => {
    throw new InvalidArgumentError(`in NATS mode the template must pack into a deploy bundle (its code inside its directory, at most ${maxBytes} bytes), to be served by every gateway: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  assertNatsTemplate(await loadTemplate(templatePath), templatePath);
  await putBundle(buckets.bundles, packed.bytes, packed.sha256);
  const { template } = decodeBundle(packed.bytes);
  const entry: DeploymentRecord = { id: 'd1', createdAt: new Date().toISOString(), principal: LOCAL_PRINCIPAL, source: 'path', sha256: packed.sha256, bytes: packed.bytes.length, template, functions: packed.functions, removed: [] };
  try {
    await buckets.deployments.create(CURRENT_KEY, encodeState({ current: entry, history: [entry] }));
    logger.info('the cluster had no deployment: --template is its first', { deployment: entry.id, template: templatePath });
  } catch (error) {
    if (!isWrongLastSequence(error)) throw new ServiceUnavailableError(`cannot record the cluster's first deployment: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    // Another gateway seeded first: its deployment serves (read again by the caller).
  }
}

/** The fields a rollback or removal reuses: the bundle and what it serves (a per-function deployment's function and base with it). */
function fieldsOf(r: DeploymentRecord): Pick<DeploymentRecord, 'sha256' | 'bytes' | 'template' | 'functions' | 'removed' | 'only' | 'base'> {
  return { sha256: r.sha256, bytes: r.bytes, template: r.template, functions: r.functions, removed: r.removed, ...(r.only === undefined || r.base === undefined ? {} : { only: r.only, base: r.base }) };
}
