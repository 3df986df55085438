/**
 * Service versions and aliases (docs/protocol.md §3.2a, §9.14, §9.15), as Function Compute has
 * them: publishing a version freezes the service's functions — code and configuration — as the
 * current deployment serves them; versions are numbered per service (1, 2, …) and immutable;
 * `LATEST` is what the gateway serves now. An alias names a version, and may send a share of the
 * calls to a second one (FC's `additionalVersionWeight`, canary routing).
 *
 * `resolve` runs on every call: `LATEST` is one registry lookup, as before; a version or an
 * alias is two Map reads (and one random number for a weighted alias).
 */
import { FunctionNotFoundError, InvalidArgumentError } from 'edgefc/errors';
import { DEFAULT_QUALIFIER } from 'edgefc/protocol';
import type { DeploymentStore } from '../deployments/deployment-store.js';
import { served } from '../deployments/deployments.js';
import type { Logger } from '../logging/logger.js';
import { quoteName } from '../registry/closest-name.js';
import type { Registry, RegistryEntry } from '../registry/registry.js';
import type { FunctionSpec, Template } from '../registry/types.js';
import { VersionStore, type AliasRecord, type ServiceVersions, type VersionRecord, type VersionsState } from './version-store.js';

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
  store: VersionStore;
  deployments: DeploymentStore;
  registry: Registry;
  logger: Logger;
  /** Containment and fixed ports for a version's functions, as for a deploy's (Deployer `place`). */
  place?: (template: Template) => Promise<Template>;
  /** @default Math.random */
  random?: () => number;
}

export class Versions {
  readonly #options: VersionsOptions;
  #state: VersionsState;
  /** `S@N` → function name → entry, built once per version (its service spec carries `versionId`). */
  readonly #frozen = new Map<string, Map<string, ResolvedEntry>>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: VersionsOptions, state: VersionsState) {
    this.#options = options;
    this.#state = state;
  }

  /** Load the kept versions and their functions (at start); a version whose deployment is gone is reported and skipped. */
  static async open(options: VersionsOptions): Promise<Versions> {
    const versions = new Versions(options, options.store.load());
    for (const [service, kept] of Object.entries(versions.#state.services)) {
      for (const version of kept.versions) {
        try {
          await versions.#freeze(service, version);
        } catch (error) {
          options.logger.warn('a kept version cannot be served', { service, version: version.versionId, error: error instanceof Error ? error.message : String(error) });
        }
      }
    }
    return versions;
  }

  /** Deployments a version serves: never pruned (DeploymentStore.prune). */
  pinnedDeployments(): Set<string> {
    return new Set(Object.values(this.#state.services).flatMap((s) => s.versions.map((v) => v.deployment)));
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
      const { registry, deployments } = this.#options;
      if (!registry.services().some((s) => s.name === serviceName)) registry.lookup(serviceName, '');
      const functions = registry.functions(serviceName).map((fn) => fn.name);
      if (functions.length === 0) throw new InvalidArgumentError(`service ${quoteName(serviceName)} has no functions to publish`);
      // A template served by path (start --template F, SIGHUP) was kept as the current deployment
      // when it was loaded; one that could not be packed was not, and the current deployment is
      // then older than what is served: its functions differ, and publishing it would be wrong.
      const current = deployments.current();
      const kept = current === undefined ? [] : (await served(deployments, current)).functions.filter((fn) => fn.serviceName === serviceName);
      if (current === undefined || !sameFunctions(registry.functions(serviceName), kept)) {
        throw new InvalidArgumentError(`the gateway serves service ${quoteName(serviceName)} from a template that is not kept as a deployment (see its log): deploy it with edgefc deploy --template F, then publish`);
      }
      const state = this.#state.services[serviceName] ?? { nextVersion: 1, versions: [], aliases: [] };
      const version: VersionRecord = { versionId: String(state.nextVersion), description, createdAt: new Date().toISOString(), principal, deployment: current.id, functions };
      await this.#freeze(serviceName, version);
      this.#save(serviceName, { ...state, nextVersion: state.nextVersion + 1, versions: [...state.versions, version] });
      this.#options.logger.info('version published', { service: serviceName, version: version.versionId, deployment: current.id });
      return version;
    });
  }

  /** §9.14 `versions-list`: newest first, as FC lists them. */
  list(serviceName: string): VersionRecord[] {
    return [...(this.#state.services[serviceName]?.versions ?? [])].reverse();
  }

  /** §9.14 `versions-delete`: refused while an alias points at the version. */
  deleteVersion(serviceName: string, versionId: string): Promise<VersionRecord> {
    return this.#serial(() => {
      const kept = this.#state.services[serviceName];
      const version = kept?.versions.find((v) => v.versionId === versionId);
      if (kept === undefined || version === undefined) throw this.#noVersion(serviceName, versionId, kept);
      const users = kept.aliases.filter((a) => a.versionId === versionId || a.additionalVersionWeight[versionId] !== undefined).map((a) => a.aliasName);
      if (users.length > 0) {
        throw new InvalidArgumentError(`version ${versionId} of service ${quoteName(serviceName)} is used by alias ${users.join(', ')}: point the alias elsewhere (edgefc aliases update) or delete it first`);
      }
      this.#save(serviceName, { ...kept, versions: kept.versions.filter((v) => v !== version) });
      this.#frozen.delete(`${serviceName}@${versionId}`);
      return Promise.resolve(version);
    });
  }

  /** §9.15 `aliases-list` */
  aliases(serviceName: string): AliasRecord[] {
    return this.#state.services[serviceName]?.aliases ?? [];
  }

  /** §9.15 `aliases-create` / `aliases-update` (`create`: the name must be new; update: it must exist). */
  putAlias(serviceName: string, args: { aliasName: string; versionId?: string; description?: string; additionalVersionWeight?: Record<string, number> }, create: boolean): Promise<AliasRecord> {
    return this.#serial(() => {
      const kept = this.#state.services[serviceName];
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
      this.#save(serviceName, { ...base, aliases: old === undefined ? [...base.aliases, alias] : base.aliases.map((a) => (a === old ? alias : a)) });
      return Promise.resolve(alias);
    });
  }

  /** §9.15 `aliases-delete` */
  deleteAlias(serviceName: string, aliasName: string): Promise<AliasRecord> {
    return this.#serial(() => {
      const kept = this.#state.services[serviceName];
      const alias = kept?.aliases.find((a) => a.aliasName === aliasName);
      if (kept === undefined || alias === undefined) throw new InvalidArgumentError(`no alias ${quoteName(aliasName)} in service ${quoteName(serviceName)} (aliases: ${(kept?.aliases ?? []).map((a) => a.aliasName).join(', ') || 'none'})`);
      this.#save(serviceName, { ...kept, aliases: kept.aliases.filter((a) => a !== alias) });
      return Promise.resolve(alias);
    });
  }

  async #freeze(serviceName: string, version: VersionRecord): Promise<void> {
    const { deployments, place } = this.#options;
    const record = deployments.get(version.deployment);
    if (record === undefined) throw new InvalidArgumentError(`deployment ${version.deployment} is not kept`);
    const whole = await served(deployments, record);
    let template: Template = { ...whole, services: whole.services.filter((s) => s.name === serviceName), functions: whole.functions.filter((fn) => fn.serviceName === serviceName) };
    if (place !== undefined) template = await place(template);
    const spec = template.services[0];
    if (spec === undefined) throw new InvalidArgumentError(`service ${quoteName(serviceName)} is not in deployment ${version.deployment}`);
    const service = Object.freeze({ ...spec, versionId: version.versionId });
    const fns = new Map<string, ResolvedEntry>();
    for (const fn of template.functions) {
      fns.set(fn.name, Object.freeze({ service, fn: Object.freeze({ ...fn, environmentVariables: Object.freeze({ ...fn.environmentVariables }) }), versionId: version.versionId }));
    }
    this.#frozen.set(`${serviceName}@${version.versionId}`, fns);
  }

  #save(serviceName: string, kept: ServiceVersions): void {
    const next: VersionsState = { services: { ...this.#state.services, [serviceName]: kept } };
    this.#options.store.save(next);
    this.#state = next;
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

/** The served functions and the kept deployment's, compared on what a template says (not on paths or placement). */
function sameFunctions(served: readonly Readonly<FunctionSpec>[], kept: readonly FunctionSpec[]): boolean {
  const shape = (fns: readonly Readonly<FunctionSpec>[]): string =>
    JSON.stringify(
      [...fns]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((fn) => [fn.name, fn.runtime, fn.handler, fn.memorySizeMB, fn.timeoutMs, fn.initializer ?? '', fn.instanceConcurrency, fn.maxInstances, Object.entries(fn.environmentVariables).sort()]),
    );
  return shape(served) === shape(kept);
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
