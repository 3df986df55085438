/**
 * Service versions and aliases (docs/protocol.md §3.2a, §9.14, §9.15), as Function Compute has
 * them: publishing a version freezes the service's functions — code and configuration — as the
 * current deployment serves them; versions are numbered per service (1, 2, …) and immutable;
 * `LATEST` is what the gateway serves now. An alias names a version, and may send a share of the
 * calls to a second one (FC's `additionalVersionWeight`, canary routing).
 *
 * `resolve` runs on every call: `LATEST` is one registry lookup, as before; a version or an
 * alias is two Map reads (and one random number for a weighted alias).
 *
 * Where the state is kept is the store's (version-store.ts: a file on one box, the cluster's KV
 * bucket in NATS mode), and which deployment a version names the source's
 * (version-deployments.ts); every change is a function of the latest kept state, so a store
 * shared by several gateways can run it again after a compare-and-set lost.
 */
import { FunctionNotFoundError, InvalidArgumentError } from 'edgefc/errors';
import { DEFAULT_QUALIFIER } from 'edgefc/protocol';
import type { DeploymentRecord, DeploymentStore } from '../deployments/deployment-store.js';
import { served } from '../deployments/deployments.js';
import type { Logger } from '../logging/logger.js';
import { quoteName } from '../registry/closest-name.js';
import type { Registry, RegistryEntry } from '../registry/registry.js';
import type { FunctionSpec, Template } from '../registry/types.js';
import { localVersionDeployments, type VersionDeployments } from './version-deployments.js';
import type { AliasRecord, ServiceVersions, VersionChange, VersionRecord, VersionsState, VersionStateStore } from './version-store.js';

/** A call's function as its qualifier names it: the entry to run and the version it is (`''` for LATEST). */
export interface ResolvedEntry extends RegistryEntry {
  versionId: string;
}

/** FC: an alias name starts with a letter or `_`, up to 128 characters; never a number, never LATEST. */
const ALIAS_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
const VERSION_ID = /^[1-9][0-9]{0,9}$/;
/** FC's limit on a version's and an alias's description. */
const MAX_DESCRIPTION = 256;

export interface VersionsOptions {
  /** Where versions and aliases are kept: `<data>/versions.json` (VersionStore), or the cluster's bucket in NATS mode. */
  store: VersionStateStore;
  /** This gateway's deployments, whose files a version's functions are frozen from. */
  deployments: DeploymentStore;
  registry: Registry;
  logger: Logger;
  /**
   * Which deployment a publish names and where a version's files are.
   * @default this box's deployments, by id (localVersionDeployments)
   */
  source?: VersionDeployments;
  /** Containment and fixed ports for a version's functions, as for a deploy's (Deployer `place`). */
  place?: (template: Template) => Promise<Template>;
  /** @default Math.random */
  random?: () => number;
}

/** A version's functions, placed, before the version has its number. */
interface Frozen {
  functions: string[];
  entries: (versionId: string) => Map<string, ResolvedEntry>;
}

export class Versions {
  readonly #options: VersionsOptions;
  readonly #source: VersionDeployments;
  #state: VersionsState;
  /** `S@N` → function name → entry, built once per version (its service spec carries `versionId`). */
  readonly #frozen = new Map<string, Map<string, ResolvedEntry>>();
  /** `S@N` → the id of this gateway's deployment it was frozen from (pinned against pruning). */
  readonly #frozenFrom = new Map<string, string>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: VersionsOptions, state: VersionsState) {
    this.#options = options;
    this.#source = options.source ?? localVersionDeployments(options.deployments, options.registry);
    this.#state = state;
  }

  /** Load the kept versions and their functions (at start); a version whose deployment is gone is reported and skipped. */
  static async open(options: VersionsOptions): Promise<Versions> {
    const versions = new Versions(options, { services: {} });
    for (const [service, kept] of Object.entries((await options.store.load()).services)) await versions.#adopt(service, kept);
    return versions;
  }

  /**
   * Take the changes other gateways make from now on (NATS mode: the cluster's bucket), each
   * after what this gateway is doing: a version's functions are frozen before a call can name it.
   */
  follow(): void {
    this.#options.store.follow?.((service, latest) => {
      this.#serial(() => this.#adopt(service, latest())).catch((error: unknown) =>
        this.#options.logger.error('cannot take a change of the cluster\'s versions', { service, error: error instanceof Error ? error.message : String(error) }),
      );
    });
  }

  /** Deployments a version serves: never pruned (DeploymentStore.prune). */
  pinnedDeployments(): Set<string> {
    return new Set(Object.entries(this.#state.services).flatMap(([service, s]) => s.versions.map((v) => this.#frozenFrom.get(`${service}@${v.versionId}`) ?? v.deployment)));
  }

  /** Every function a version serves (containment keeps their staged code). */
  functions(): FunctionSpec[] {
    return [...this.#frozen.values()].flatMap((fns) => [...fns.values()].map((e) => e.fn));
  }

  /**
   * §3.2a: the function a qualifier names. `LATEST`: the registry's; a number: that version's;
   * otherwise an alias, and with a weighted second version, that one for its share of calls.
   * Throws ServiceNotFound / FunctionNotFound (a qualifier that names nothing is FunctionNotFound,
   * naming the versions and aliases there are).
   */
  resolve(serviceName: string, functionName: string, qualifier: string): ResolvedEntry {
    if (qualifier === DEFAULT_QUALIFIER) return { ...this.#options.registry.lookup(serviceName, functionName), versionId: '' };
    const kept = this.#state.services[serviceName];
    let versionId = qualifier;
    if (!VERSION_ID.test(qualifier)) {
      const alias = kept?.aliases.find((a) => a.aliasName === qualifier);
      if (alias === undefined) throw this.#noQualifier(serviceName, qualifier, kept);
      versionId = pickVersion(alias, this.#options.random ?? Math.random);
    }
    const fns = this.#frozen.get(`${serviceName}@${versionId}`);
    if (fns === undefined) {
      if (kept?.versions.some((v) => v.versionId === versionId) === true) throw new FunctionNotFoundError(`version ${versionId} of service ${quoteName(serviceName)} cannot be served (its deployment is gone; see the gateway's log)`);
      throw this.#noQualifier(serviceName, qualifier, kept);
    }
    const entry = fns.get(functionName);
    if (entry === undefined) {
      throw new FunctionNotFoundError(`function ${quoteName(functionName)} is not in version ${versionId} of service ${quoteName(serviceName)} (functions: ${[...fns.keys()].join(', ')})`);
    }
    return entry;
  }

  /** §9.14 `versions-publish` */
  publish(serviceName: string, description: string, principal: string): Promise<VersionRecord> {
    return this.#serial(async () => {
      checkDescription(description);
      // ServiceNotFound, a service with no functions and the like are the source's to tell (version-deployments.ts).
      const target = await this.#source.toPublish(serviceName);
      // Frozen before the version is kept (it loads and places a template): a call may name it as soon as it is.
      const frozen = await this.#freeze(serviceName, target.local);
      const createdAt = new Date().toISOString();
      // Run on the latest kept state (again, in a cluster, when another gateway wrote first): numbers are never given twice.
      const { result: version, kept } = await this.#options.store.update(serviceName, (old) => {
        const state = old ?? { nextVersion: 1, versions: [], aliases: [] };
        const made: VersionRecord = {
          versionId: String(state.nextVersion),
          description,
          createdAt,
          principal,
          deployment: target.deployment,
          // As the deployment serves them (in NATS mode the cluster's, which this gateway may not serve yet).
          functions: frozen.functions,
          ...(target.clusterDeployment === undefined ? {} : { clusterDeployment: target.clusterDeployment }),
          ...(target.clusterBases === undefined || target.clusterBases.length === 0 ? {} : { clusterBases: target.clusterBases }),
        };
        return { next: { ...state, nextVersion: state.nextVersion + 1, versions: [...state.versions, made] }, result: made };
      });
      this.#frozen.set(`${serviceName}@${version.versionId}`, frozen.entries(version.versionId));
      this.#frozenFrom.set(`${serviceName}@${version.versionId}`, target.local.id);
      await this.#adopt(serviceName, kept);
      await this.#source.published?.(version);
      this.#options.logger.info('version published', { service: serviceName, version: version.versionId, deployment: target.deployment });
      return publicVersion(version);
    });
  }

  /** §9.14 `versions-list`: newest first, as FC lists them. */
  list(serviceName: string): VersionRecord[] {
    return [...(this.#state.services[serviceName]?.versions ?? [])].reverse().map(publicVersion);
  }

  /** §9.14 `versions-delete`: refused while an alias points at the version. */
  deleteVersion(serviceName: string, versionId: string): Promise<VersionRecord> {
    return this.#serial(async () => {
      const { result: version, kept: next } = await this.#options.store.update(serviceName, (kept) => {
        const version = kept?.versions.find((v) => v.versionId === versionId);
        if (kept === undefined || version === undefined) throw this.#noVersion(serviceName, versionId, kept);
        const users = kept.aliases.filter((a) => a.versionId === versionId || a.additionalVersionWeight[versionId] !== undefined).map((a) => a.aliasName);
        if (users.length > 0) {
          throw new InvalidArgumentError(`version ${versionId} of service ${quoteName(serviceName)} is used by alias ${users.join(', ')}: point the alias elsewhere (edgefc aliases update) or delete it first`);
        }
        return { next: { ...kept, versions: kept.versions.filter((v) => v !== version) }, result: version };
      });
      await this.#adopt(serviceName, next);
      await this.#source.released?.(version);
      return publicVersion(version);
    });
  }

  /** §9.15 `aliases-list` */
  aliases(serviceName: string): AliasRecord[] {
    return this.#state.services[serviceName]?.aliases ?? [];
  }

  /** §9.15 `aliases-create` / `aliases-update` (`create`: the name must be new; update: it must exist). */
  putAlias(serviceName: string, args: { aliasName: string; versionId?: string; description?: string; additionalVersionWeight?: Record<string, number> }, create: boolean): Promise<AliasRecord> {
    return this.#change(serviceName, (kept) => {
      if (!ALIAS_NAME.test(args.aliasName) || args.aliasName === DEFAULT_QUALIFIER) {
        throw new InvalidArgumentError(`alias name ${quoteName(args.aliasName)} must start with a letter or "_", then letters, digits, "_" or "-", up to 128 characters, and not be LATEST (§9.15)`);
      }
      const old = kept?.aliases.find((a) => a.aliasName === args.aliasName);
      if (create && old !== undefined) throw new InvalidArgumentError(`alias ${quoteName(args.aliasName)} of service ${quoteName(serviceName)} exists already: edgefc aliases update`);
      if (!create && old === undefined) throw new InvalidArgumentError(`no alias ${quoteName(args.aliasName)} in service ${quoteName(serviceName)} (aliases: ${(kept?.aliases ?? []).map((a) => a.aliasName).join(', ') || 'none'})`);
      const versionId = args.versionId ?? old?.versionId;
      if (versionId === undefined) throw new InvalidArgumentError('an alias needs a version (§9.15 "versionId")');
      const weights = args.additionalVersionWeight ?? old?.additionalVersionWeight ?? {};
      const description = args.description ?? old?.description ?? '';
      checkDescription(description);
      for (const id of [versionId, ...Object.keys(weights)]) {
        if (kept?.versions.some((v) => v.versionId === id) !== true) throw this.#noVersion(serviceName, id, kept);
      }
      checkWeights(weights, versionId);
      const now = new Date().toISOString();
      const alias: AliasRecord = { aliasName: args.aliasName, versionId, description, additionalVersionWeight: weights, createdAt: old?.createdAt ?? now, updatedAt: now };
      const base = kept as ServiceVersions;
      return { next: { ...base, aliases: old === undefined ? [...base.aliases, alias] : base.aliases.map((a) => (a === old ? alias : a)) }, result: alias };
    });
  }

  /** §9.15 `aliases-delete` */
  deleteAlias(serviceName: string, aliasName: string): Promise<AliasRecord> {
    return this.#change(serviceName, (kept) => {
      const alias = kept?.aliases.find((a) => a.aliasName === aliasName);
      if (kept === undefined || alias === undefined) throw new InvalidArgumentError(`no alias ${quoteName(aliasName)} in service ${quoteName(serviceName)} (aliases: ${(kept?.aliases ?? []).map((a) => a.aliasName).join(', ') || 'none'})`);
      return { next: { ...kept, aliases: kept.aliases.filter((a) => a !== alias) }, result: alias };
    });
  }

  /** An alias change: checked against the latest kept state, kept, then served here. */
  #change<T>(serviceName: string, change: VersionChange<T>): Promise<T> {
    return this.#serial(async () => {
      const { result, kept } = await this.#options.store.update(serviceName, change);
      await this.#adopt(serviceName, kept);
      return result;
    });
  }

  /**
   * Serve `kept` as the service's versions: versions not frozen here yet are (a version another
   * gateway published: its deployment fetched when this gateway has no copy), deleted ones are
   * dropped. A version that cannot be frozen is logged and answers FunctionNotFound (§3.2a).
   */
  async #adopt(serviceName: string, kept: ServiceVersions): Promise<void> {
    for (const version of kept.versions) {
      const key = `${serviceName}@${version.versionId}`;
      if (this.#frozen.has(key)) continue;
      try {
        const local = await this.#source.localOf(version);
        if (local === undefined) throw new InvalidArgumentError(`deployment ${version.deployment} is not kept`);
        this.#frozen.set(key, (await this.#freeze(serviceName, local)).entries(version.versionId));
        this.#frozenFrom.set(key, local.id);
      } catch (error) {
        this.#options.logger.warn('a kept version cannot be served', { service: serviceName, version: version.versionId, error: error instanceof Error ? error.message : String(error) });
      }
    }
    const ids = new Set(kept.versions.map((v) => v.versionId));
    for (const key of [...this.#frozen.keys()]) {
      const at = key.lastIndexOf('@');
      if (key.slice(0, at) === serviceName && !ids.has(key.slice(at + 1))) {
        this.#frozen.delete(key);
        this.#frozenFrom.delete(key);
      }
    }
    this.#state = { services: { ...this.#state.services, [serviceName]: kept } };
  }

  /** The service's functions as deployment `record` serves them, placed; numbered once the version has its id. */
  async #freeze(serviceName: string, record: DeploymentRecord): Promise<Frozen> {
    const { deployments, place } = this.#options;
    const whole = await served(deployments, record);
    let template: Template = { ...whole, services: whole.services.filter((s) => s.name === serviceName), functions: whole.functions.filter((fn) => fn.serviceName === serviceName) };
    if (place !== undefined) template = await place(template);
    const spec = template.services[0];
    if (spec === undefined) throw new InvalidArgumentError(`service ${quoteName(serviceName)} is not in deployment ${record.cluster ?? record.id}`);
    const entries = (versionId: string): Map<string, ResolvedEntry> => {
      const service = Object.freeze({ ...spec, versionId });
      const fns = new Map<string, ResolvedEntry>();
      for (const fn of template.functions) {
        fns.set(fn.name, Object.freeze({ service, fn: Object.freeze({ ...fn, environmentVariables: Object.freeze({ ...fn.environmentVariables }) }), versionId }));
      }
      return fns;
    };
    return { functions: template.functions.map((fn) => fn.name), entries };
  }

  /** One change at a time, in the order asked (a publish loads a template: it awaits). */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #noQualifier(serviceName: string, qualifier: string, kept: ServiceVersions | undefined): FunctionNotFoundError {
    return new FunctionNotFoundError(`qualifier ${quoteName(qualifier)} names no version or alias of service ${quoteName(serviceName)} (${known(kept)}; §3.2a)`);
  }

  #noVersion(serviceName: string, versionId: string, kept: ServiceVersions | undefined): InvalidArgumentError {
    return new InvalidArgumentError(`no version ${quoteName(versionId)} in service ${quoteName(serviceName)} (${known(kept)})`);
  }
}

/** §9.14's VERSION: the fields a client sees (a cluster's deployment record stays inside). */
function publicVersion(version: VersionRecord): VersionRecord {
  const { clusterDeployment: _record, clusterBases: _bases, ...shown } = version;
  return shown;
}

function known(kept: ServiceVersions | undefined): string {
  const versions = kept?.versions.map((v) => v.versionId).join(', ') || 'none';
  const aliases = kept?.aliases.map((a) => a.aliasName).join(', ') || 'none';
  return `versions: ${versions}; aliases: ${aliases}`;
}

function pickVersion(alias: AliasRecord, random: () => number): string {
  for (const [versionId, weight] of Object.entries(alias.additionalVersionWeight)) {
    if (random() < weight) return versionId;
  }
  return alias.versionId;
}

function checkDescription(description: string): void {
  if (description.length > MAX_DESCRIPTION) throw new InvalidArgumentError(`a description is at most ${MAX_DESCRIPTION} characters`);
}

/** FC: one additional version, a weight from 0 to 1, not the alias's own version. */
function checkWeights(weights: Record<string, number>, versionId: string): void {
  const entries = Object.entries(weights);
  if (entries.length > 1) throw new InvalidArgumentError('"additionalVersionWeight" names at most one version (§9.15)');
  for (const [id, weight] of entries) {
    if (id === versionId) throw new InvalidArgumentError(`"additionalVersionWeight" names version ${id}, the alias's own version (§9.15)`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 1) throw new InvalidArgumentError('a weight in "additionalVersionWeight" is a number from 0 to 1 (§9.15)');
  }
}
