/**
 * Which deployment a version names, and where its files are on this gateway (docs/protocol.md
 * §9.14). On one box (`localVersionDeployments`) that is the data directory's current
 * deployment, by its id. In NATS mode (cluster/cluster-version-deployments.ts) a version names
 * the cluster's deployment, whose bundle each gateway fetches into its own data directory when it
 * has no copy, and which stays in the object store while a version names it.
 */
import { InvalidArgumentError } from 'edgefc/errors';
import type { DeploymentRecord, DeploymentStore } from '../deployments/deployment-store.js';
import { served } from '../deployments/deployments.js';
import { quoteName } from '../registry/closest-name.js';
import type { Registry } from '../registry/registry.js';
import type { FunctionSpec } from '../registry/types.js';
import type { VersionRecord } from './version-store.js';

/** What a publish freezes: the deployment its version names, and this gateway's copy of it. */
export interface PublishTarget {
  /** The id the version records (`VersionRecord.deployment`). */
  deployment: string;
  /** This gateway's record of it, in its DeploymentStore. */
  local: DeploymentRecord;
  /** NATS mode: the cluster's record, kept in the version (`VersionRecord.clusterDeployment`). */
  clusterDeployment?: DeploymentRecord;
  /** NATS mode, a per-function deployment: the bases it builds on (`VersionRecord.clusterBases`). */
  clusterBases?: DeploymentRecord[];
}

export interface VersionDeployments {
  /** §9.14 `versions-publish`: the deployment that serves `service` now; ServiceNotFound when none serves it. */
  toPublish(service: string): Promise<PublishTarget>;
  /** This gateway's record of the deployment `version` names, or undefined when it is not kept (nor can be had). */
  localOf(version: VersionRecord): Promise<DeploymentRecord | undefined>;
  /** After a publish is kept: make sure what it names stays (NATS mode: the bundle in the object store). */
  published?(version: VersionRecord): Promise<void>;
  /** After a version is deleted: what only it kept may go (NATS mode: its bundle). */
  released?(version: VersionRecord): Promise<void>;
}

/** One box: the data directory's deployments, by id. */
export function localVersionDeployments(store: DeploymentStore, registry: Registry): VersionDeployments {
  return {
    async toPublish(service) {
      if (!registry.services().some((s) => s.name === service)) registry.lookup(service, '');
      if (registry.functions(service).length === 0) throw new InvalidArgumentError(`service ${quoteName(service)} has no functions to publish`);
      // A template served by path (start --template F, SIGHUP) was kept as the current deployment
      // when it was loaded; one that could not be packed was not, and the current deployment is
      // then older than what is served: its functions differ, and publishing it would be wrong.
      const current = store.current();
      const kept = current === undefined ? [] : (await served(store, current)).functions.filter((fn) => fn.serviceName === service);
      if (current === undefined || !sameFunctions(registry.functions(service), kept)) {
        throw new InvalidArgumentError(`the gateway serves service ${quoteName(service)} from a template that is not kept as a deployment (see its log): deploy it with edgefc deploy --template F, then publish`);
      }
      return { deployment: current.id, local: current };
    },
    localOf: (version) => Promise.resolve(store.get(version.deployment)),
  };
}

/** The served functions and the kept deployment's, compared on what a template says (not on paths or placement). */
function sameFunctions(servedFns: readonly Readonly<FunctionSpec>[], kept: readonly FunctionSpec[]): boolean {
  const shape = (fns: readonly Readonly<FunctionSpec>[]): string =>
    JSON.stringify(
      [...fns]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((fn) => [fn.name, fn.runtime, fn.handler, fn.memorySizeMB, fn.timeoutMs, fn.initializer ?? '', fn.instanceConcurrency, fn.maxInstances, Object.entries(fn.environmentVariables).sort()]),
    );
  return shape(servedFns) === shape(kept);
}
