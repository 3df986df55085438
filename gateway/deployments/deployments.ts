/**
 * Deployments as state (docs/lifecycle.md "Deployments"): every deploy — an uploaded bundle, a
 * template named by path, a rollback, a removal — is kept in the data directory
 * (deployment-store.ts) and the last one is what a restart serves. A deploy is staged, loaded
 * with the checks of a start, switched to by the Deployer, and only then listed and made
 * current: a refused one leaves nothing behind and the old deployment serves on.
 */
import { FunctionNotFoundError, InvalidArgumentError } from 'edgefc/errors';
import type { Logger } from '../logging/logger.js';
import type { DeployResult, Deployer } from '../registry/deployer.js';
import { loadTemplate } from '../registry/load-template.js';
import type { Registry } from '../registry/registry.js';
import { TemplateError } from '../registry/template-error.js';
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION } from '../registry/template-schema.js';
import type { Template } from '../registry/types.js';
import { DeploymentStore, type DeploymentRecord } from './deployment-store.js';
import { packTemplate, type PackedBundle } from './pack-bundle.js';

export interface DeploymentResult extends DeployResult {
  /** The deployment now served; absent for a template that could not be packed (kept by path only). */
  deployment?: string;
}

/** `edgefc deployments list`, §9.10. */
export type DeploymentView = DeploymentRecord & { current: boolean };

/**
 * Deployments kept (`edgefc start --keep-deployments N`): ten rollbacks back, and at most ten
 * bundles of up to 64 MiB (640 MiB) on the box's disk in the worst case.
 */
export const DEFAULT_KEEP_DEPLOYMENTS = 10;
export const MAX_KEEP_DEPLOYMENTS = 10_000;

/** The principal of deployments the gateway makes itself (start, SIGHUP). */
export const LOCAL_PRINCIPAL = 'local';

export class Deployments {
  readonly store: DeploymentStore;
  readonly #deployer: Deployer;
  readonly #registry: Registry;
  readonly #logger: Logger;
  readonly #maxBundleBytes: number;
  readonly #keep: number;
  #queue: Promise<unknown> = Promise.resolve();
  #records: DeploymentRecord[];
  /** Deployments a service version serves, never pruned (set by the Gateway once versions are open). */
  pinned: () => ReadonlySet<string> = () => new Set();

  constructor(options: { store: DeploymentStore; deployer: Deployer; registry: Registry; logger: Logger; maxBundleBytes: number; keepDeployments?: number }) {
    this.store = options.store;
    this.#deployer = options.deployer;
    this.#registry = options.registry;
    this.#logger = options.logger;
    this.#maxBundleBytes = options.maxBundleBytes;
    this.#keep = options.keepDeployments ?? DEFAULT_KEEP_DEPLOYMENTS;
    this.#records = this.store.list();
  }

  /** Remove deployments past the newest `keepDeployments` (DeploymentStore.prune); at start and after each deploy. */
  prune(): string[] {
    const removed = this.store.prune(this.#keep, this.pinned());
    if (removed.length > 0) {
      this.#records = this.store.list();
      this.#logger.info('old deployments removed', { removed: removed.join(', '), kept: this.#records.length });
    }
    return removed;
  }

  /**
   * What a gateway serves at start. With `--template F`: F, recorded as a new deployment unless
   * a deployment with F's exact content (sha256 of its bundle) is already kept — then the current
   * deployment serves, so restarting with the same command line serves what was deployed since.
   * Without: the current deployment, or nothing at all.
   */
  static async atStart(store: DeploymentStore, templatePath: string | undefined, logger: Logger, maxBundleBytes: number): Promise<Template> {
    const current = store.current();
    if (templatePath !== undefined) {
      // A bad template stops the start, as it always did; an s.yaml's or Funcraft file's dropped fields are logged once here.
      const template = await loadTemplate(templatePath, {
        onImportMessage: (m) => m.severity === 'warning' && logger.warn('field not imported', { template: templatePath, line: m.line, field: m.field, reason: m.reason }),
      });
      const packed = await packOrWarn(templatePath, logger, maxBundleBytes);
      if (packed === undefined) return template;
      const known = store.list().some((record) => record.sha256 === packed.sha256);
      if (!known) {
        const staged = store.stage(packed.bytes);
        store.commit(record(staged.id, 'path', LOCAL_PRINCIPAL, packed.bytes.length, staged, template.functions.map(fnName), []));
        logger.info('deployment recorded', { deployment: staged.id, template: templatePath });
        return template;
      }
      if (current !== undefined && current.only === undefined && current.sha256 === packed.sha256) return without(template, current.removed);
      logger.info('--template is a deployment kept already; serving the current deployment', { template: templatePath, deployment: current?.id });
    }
    if (current === undefined) return emptyTemplate();
    logger.info('serving the current deployment', { deployment: current.id, createdAt: current.createdAt, principal: current.principal });
    return served(store, current);
  }

  /** A template on the gateway's machine (SIGHUP, `deploy {template}`), packed and kept. */
  deployPath(file: string, principal: string): Promise<DeploymentResult> {
    return this.#serial(async () => {
      const packed = await packOrWarn(file, this.#logger, this.#maxBundleBytes);
      if (packed === undefined) return this.#deployer.deploy(file);
      const current = this.store.current();
      if (current !== undefined && current.only === undefined && current.sha256 === packed.sha256) return { ...(await this.#deployer.deploy(file, (t) => without(t, current.removed))), deployment: current.id };
      const staged = this.store.stage(packed.bytes);
      return this.#switch(staged, () => this.#deployer.deploy(file), (functions) => record(staged.id, 'path', principal, packed.bytes.length, staged, functions, []));
    });
  }

  /**
   * Read the served template again (SIGHUP, `deploy` without a template): a template file served
   * in place is deployed by path (kept when it changed); a kept deployment is served again as it is.
   */
  reload(servedPath: string): Promise<DeploymentResult> {
    const current = this.store.current();
    if (current === undefined || !servedPath.startsWith(`${this.store.dir}/`)) return this.deployPath(servedPath, LOCAL_PRINCIPAL);
    return this.#serial(async () => {
      const template = await served(this.store, current);
      return { ...(await this.#deployer.deploy(this.store.templatePath(current), () => template)), deployment: current.id };
    });
  }

  /**
   * An uploaded bundle (§9.9). With `only` (`S/F`): that function's spec and code from the
   * bundle, every other function as the current deployment serves it.
   */
  deployBundle(bytes: Buffer, principal: string, only?: string): Promise<DeploymentResult> {
    return this.#serial(async () => {
      if (only !== undefined) return this.#deployFunction(bytes, principal, only);
      const staged = this.store.stage(bytes);
      return this.#switch(staged, () => this.#deployer.deploy(staged.templatePath), (functions) => record(staged.id, 'upload', principal, bytes.length, staged, functions, []));
    });
  }

  /** Serve an earlier deployment again, as a new one (default: the one before the current). */
  rollback(id: string | undefined, principal: string): Promise<DeploymentResult> {
    return this.#serial(async () => {
      const records = this.store.list();
      const current = this.store.current();
      const at = current === undefined ? -1 : records.findIndex((r) => r.id === current.id);
      const target = id === undefined ? (at > 0 ? records[at - 1] : undefined) : records.find((r) => r.id === id);
      if (target === undefined) {
        throw new InvalidArgumentError(id === undefined ? 'there is no deployment before the current one to roll back to' : `no deployment ${id} (edgefc deployments list)`);
      }
      return this.#reuse(target, 'rollback', principal, target.removed);
    });
  }

  /** Stop serving one function; calls in flight finish on its instances (§9.11). */
  remove(name: string, principal: string): Promise<DeploymentResult> {
    return this.#serial(async () => {
      const current = this.store.current();
      if (current === undefined || !current.functions.includes(name)) {
        throw new FunctionNotFoundError(`${name} is not in the current deployment${current === undefined ? '' : ` ${current.id}`}`);
      }
      return this.#reuse(current, 'remove', principal, [...current.removed, name]);
    });
  }

  /**
   * A cluster's deployment (NATS mode, cluster/cluster-deployments.ts), as every gateway serves
   * it: its bundle staged (under the cluster's id when free), switched to as any deploy is, and
   * kept with `cluster` set. Nothing changes when this gateway serves it already. A per-function
   * one (`entry.only`, §9.9.4) serves function `only` from its bundle and every other as `base`
   * serves them: this gateway's copy of the cluster's `entry.base` (cluster-local-copy.ts).
   */
  applyCluster(bytes: Buffer, entry: DeploymentRecord, base?: DeploymentRecord): Promise<DeploymentResult> {
    return this.#serial(async () => {
      const current = this.store.current();
      if (current !== undefined && current.cluster === entry.id) {
        return { template: this.#registry.templatePath, functions: this.#registry.functions().length, retired: 0, triggersChanged: false, deployment: entry.id };
      }
      const only = entry.only;
      if (only !== undefined && base === undefined) throw new InvalidArgumentError(`deployment ${entry.id} replaces ${only} in ${entry.base ?? 'a deployment'}, which this gateway does not have`);
      const baseTemplate = only === undefined || base === undefined ? undefined : await served(this.store, base);
      const staged = this.store.stage(bytes, entry.id);
      const result = await this.#switch(
        staged,
        () => this.#deployer.deploy(staged.templatePath, (own) => without(baseTemplate === undefined || only === undefined ? own : merge(baseTemplate, own, only), entry.removed)),
        (functions) => ({ ...entry, id: staged.id, functions, cluster: entry.id, ...(base === undefined ? {} : { base: base.id }) }),
      );
      return { ...result, deployment: entry.id };
    });
  }

  list(): DeploymentView[] {
    const current = this.store.current()?.id;
    return this.#records.map((r) => ({ ...r, current: r.id === current }));
  }

  /** Why S/F is not served, when a deployment dropped it: for FunctionNotFound messages. */
  removedBy(service: string, fn: string): string | undefined {
    const name = `${service}/${fn}`;
    const current = this.store.current();
    const records = this.#records;
    const end = current === undefined ? records.length : records.findIndex((r) => r.id === current.id) + 1;
    for (let i = end - 1; i > 0; i -= 1) {
      const r = records[i] as DeploymentRecord;
      if ((records[i - 1] as DeploymentRecord).functions.includes(name) && !r.functions.includes(name)) {
        return `${name} was removed by deployment ${r.id} (${r.source}, ${r.createdAt}, by ${r.principal})`;
      }
    }
    return undefined;
  }

  async #deployFunction(bytes: Buffer, principal: string, only: string): Promise<DeploymentResult> {
    const current = this.store.current();
    if (current === undefined) throw new InvalidArgumentError(`no deployment to replace ${only} in: deploy the whole template first`);
    const base = await served(this.store, current);
    const staged = this.store.stage(bytes);
    const removed = current.removed.filter((name) => name !== only);
    return this.#switch(
      staged,
      () => this.#deployer.deploy(staged.templatePath, (own) => without(merge(base, own, only), removed)),
      (functions) => ({ ...record(staged.id, 'function', principal, bytes.length, staged, functions, removed), only, base: current.id }),
    );
  }

  async #reuse(from: DeploymentRecord, source: 'rollback' | 'remove', principal: string, removed: string[]): Promise<DeploymentResult> {
    const bytes = this.store.bundle(from);
    const staged = this.store.stage(bytes);
    const base = from.only === undefined || from.base === undefined ? undefined : await served(this.store, this.#record(from.base));
    const only = from.only;
    return this.#switch(
      staged,
      () => this.#deployer.deploy(staged.templatePath, (own) => without(base === undefined || only === undefined ? own : merge(base, own, only), removed)),
      (functions) => ({
        ...record(staged.id, source, principal, bytes.length, staged, functions, removed),
        from: from.id,
        ...(only === undefined || from.base === undefined ? {} : { only, base: from.base }),
      }),
    );
  }

  #record(id: string): DeploymentRecord {
    const found = this.store.get(id);
    if (found === undefined) throw new InvalidArgumentError(`deployment ${id} is not kept any more`);
    return found;
  }

  async #switch(
    staged: { id: string; template: string; templatePath: string },
    deploy: () => Promise<DeployResult>,
    make: (functions: string[]) => DeploymentRecord,
  ): Promise<DeploymentResult> {
    let result: DeployResult;
    try {
      result = await deploy();
    } catch (error) {
      this.store.discard(staged.id);
      throw relabel(error, staged);
    }
    const entry = make(this.#registry.functions().map(fnName));
    this.store.commit(entry);
    this.#records = this.store.list();
    this.prune();
    this.#logger.info('deployment', { deployment: entry.id, source: entry.source, principal: entry.principal, sha256: entry.sha256, functions: entry.functions.length });
    return { ...result, deployment: entry.id };
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(task, task);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

function fnName(fn: { serviceName: string; name: string }): string {
  return `${fn.serviceName}/${fn.name}`;
}

function record(id: string, source: DeploymentRecord['source'], principal: string, bytes: number, staged: { template: string; sha256: string }, functions: string[], removed: string[]): DeploymentRecord {
  return { id, createdAt: new Date().toISOString(), principal, source, sha256: staged.sha256, bytes, template: staged.template, functions, removed };
}

/** What a deployment serves: its template, or for a per-function one its base with that function replaced. */
export async function served(store: DeploymentStore, entry: DeploymentRecord, depth = 0): Promise<Template> {
  const own = await loadTemplate(store.templatePath(entry));
  if (entry.only === undefined || entry.base === undefined) return without(own, entry.removed);
  const base = store.get(entry.base);
  if (base === undefined || depth > 1000) throw new InvalidArgumentError(`deployment ${entry.id} builds on ${entry.base}, which is not kept`);
  return without(merge(await served(store, base, depth + 1), own, entry.only), entry.removed);
}

/** `base` with function `only` (`S/F`) as `own` defines it: replaced, or added with its service. */
function merge(base: Template, own: Template, only: string): Template {
  const spec = own.functions.find((fn) => fnName(fn) === only);
  if (spec === undefined) throw new FunctionNotFoundError(`${only} is not in the uploaded template (${own.functions.map(fnName).join(', ') || 'no functions'})`);
  const at = base.functions.findIndex((fn) => fnName(fn) === only);
  const functions = at === -1 ? [...base.functions, spec] : base.functions.map((fn, i) => (i === at ? spec : fn));
  const service = own.services.find((s) => s.name === spec.serviceName);
  const services = base.services.some((s) => s.name === spec.serviceName) || service === undefined ? base.services : [...base.services, service];
  return { ...base, services, functions };
}

function without(template: Template, removed: readonly string[]): Template {
  if (removed.length === 0) return template;
  return { ...template, functions: template.functions.filter((fn) => !removed.includes(fnName(fn))) };
}

export function emptyTemplate(): Template {
  return { path: '', identity: { region: DEFAULT_REGION, accountId: DEFAULT_ACCOUNT_ID, credentials: { accessKeyId: '', accessKeySecret: '', securityToken: '' } }, services: [], functions: [] };
}

/** A template that cannot be packed (code outside its directory, too big) is served by path, not kept. */
async function packOrWarn(file: string, logger: Logger, maxBytes: number): Promise<PackedBundle | undefined> {
  try {
    return await packTemplate(file, { maxBytes });
  } catch (error) {
    if (error instanceof TemplateError) throw error;
    logger.warn('the template is served but not kept as a deployment: a restart reads it again', { template: file, error: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}

/** Problems in an uploaded bundle are told relative to the bundle, as the operator's files are named. */
export function relabel(error: unknown, staged: { template: string; templatePath: string }): unknown {
  const root = staged.templatePath.slice(0, staged.templatePath.length - staged.template.length);
  if (error instanceof TemplateError && error.file !== staged.template) {
    const problems = error.problems.map((p) => ({ ...p, reason: p.reason.split(root).join('') }));
    return new TemplateError(staged.template, problems, { cause: error });
  }
  if (error instanceof Error && error.message.includes(root)) {
    return new InvalidArgumentError(error.message.split(root).join(''), { cause: error });
  }
  return error;
}
