/**
 * The services and functions a gateway serves, built from a checked Template, and rebuilt in
 * place by `replace()` on a redeploy, so every holder (dispatch, Async service, function host)
 * sees the new deploy at once.
 *
 * `lookup` runs on every call: two Map reads and no allocation, since each (service, function)
 * result object is built once here and handed out as is.
 */
import { FunctionNotFoundError, InvalidArgumentError, ServiceNotFoundError } from 'edgefc/errors';
import { closestName, listNames, quoteName } from './closest-name.js';
import type { FunctionSpec, GatewayIdentity, ServiceSpec, Template } from './types.js';

export interface RegistryEntry {
  readonly service: Readonly<ServiceSpec>;
  readonly fn: Readonly<FunctionSpec>;
}

interface ServiceEntry {
  service: Readonly<ServiceSpec>;
  functions: Map<string, RegistryEntry>;
  /** Function names in template order, for error messages. */
  functionNames: string[];
}

export class Registry {
  #identity!: Readonly<GatewayIdentity>;
  #templatePath!: string;
  #byService!: Map<string, ServiceEntry>;
  #services!: readonly Readonly<ServiceSpec>[];
  #functions!: readonly Readonly<FunctionSpec>[];

  /**
   * Throws InvalidArgumentError when the template contradicts itself (a duplicate name, a
   * function of an unknown service): loadTemplate never produces one, hand-built ones might.
   */
  constructor(template: Template) {
    this.#load(template);
  }

  /**
   * Why S/F is not served when something knows, e.g. "removed by deployment d4 (…)"
   * (deployments/deployments.ts); added to ServiceNotFound and FunctionNotFound messages.
   */
  explainMissing: ((serviceName: string, functionName: string) => string | undefined) | undefined;

  /** Who the gateway says it is to functions. */
  get identity(): Readonly<GatewayIdentity> {
    return this.#identity;
  }

  /** Absolute path of the template the registry came from. */
  get templatePath(): string {
    return this.#templatePath;
  }

  /**
   * Serve `template` from now on (a redeploy). All or nothing: a template that contradicts
   * itself throws as the constructor does and the registry keeps what it had.
   */
  replace(template: Template): void {
    this.#load(template);
  }

  #load(template: Template): void {
    const byService = new Map<string, ServiceEntry>();
    for (const spec of template.services) {
      if (byService.has(spec.name)) throw new InvalidArgumentError(`service ${quoteName(spec.name)} is defined twice`);
      byService.set(spec.name, { service: Object.freeze({ ...spec }), functions: new Map(), functionNames: [] });
    }
    for (const spec of template.functions) {
      const entry = byService.get(spec.serviceName);
      if (entry === undefined) {
        throw new InvalidArgumentError(`function ${quoteName(spec.name)} belongs to service ${quoteName(spec.serviceName)}, which is not defined`);
      }
      if (entry.functions.has(spec.name)) {
        throw new InvalidArgumentError(`function ${quoteName(`${spec.serviceName}/${spec.name}`)} is defined twice`);
      }
      const fn = Object.freeze({ ...spec, environmentVariables: Object.freeze({ ...spec.environmentVariables }) });
      entry.functions.set(spec.name, Object.freeze({ service: entry.service, fn }));
      entry.functionNames.push(spec.name);
    }
    // Checked in full above; from here on nothing throws, so the swap is all or nothing.
    this.#templatePath = template.path;
    this.#identity = Object.freeze({ ...template.identity, credentials: Object.freeze({ ...template.identity.credentials }) });
    this.#byService = byService;
    this.#services = Object.freeze([...byService.values()].map((e) => e.service));
    this.#functions = Object.freeze([...byService.values()].flatMap((e) => [...e.functions.values()].map((r) => r.fn)));
  }

  /** The function, or throws ServiceNotFoundError / FunctionNotFoundError naming what exists. */
  lookup(serviceName: string, functionName: string): RegistryEntry {
    const service = this.#byService.get(serviceName);
    if (service === undefined) throw this.#serviceNotFound(serviceName, this.explainMissing?.(serviceName, functionName));
    const entry = service.functions.get(functionName);
    if (entry === undefined) throw this.#functionNotFound(service, functionName, this.explainMissing?.(serviceName, functionName));
    return entry;
  }

  /** Like lookup, but undefined instead of an error. */
  find(serviceName: string, functionName: string): RegistryEntry | undefined {
    return this.#byService.get(serviceName)?.functions.get(functionName);
  }

  /** Services in template order. */
  services(): readonly Readonly<ServiceSpec>[] {
    return this.#services;
  }

  /** Functions in template order (by service, then by function); one service's with a name. */
  functions(serviceName?: string): readonly Readonly<FunctionSpec>[] {
    if (serviceName === undefined) return this.#functions;
    const entry = this.#byService.get(serviceName);
    return entry === undefined ? [] : [...entry.functions.values()].map((r) => r.fn);
  }

  #serviceNotFound(serviceName: string, why: string | undefined): ServiceNotFoundError {
    if (why !== undefined) return new ServiceNotFoundError(`service ${quoteName(serviceName)} not found: ${why}`);
    const names = [...this.#byService.keys()];
    const hint = closestName(serviceName, names);
    const tail = hint === undefined ? '' : `; did you mean ${quoteName(hint)}?`;
    return new ServiceNotFoundError(`service ${quoteName(serviceName)} not found (services: ${listNames(names)})${tail}`);
  }

  #functionNotFound(entry: ServiceEntry, functionName: string, why: string | undefined): FunctionNotFoundError {
    if (why !== undefined) return new FunctionNotFoundError(`function ${quoteName(functionName)} not found: ${why}`);
    const hint = closestName(functionName, entry.functionNames);
    const tail = hint === undefined ? '' : `; did you mean ${quoteName(hint)}?`;
    return new FunctionNotFoundError(
      `function ${quoteName(functionName)} not found in service ${quoteName(entry.service.name)} (functions: ${listNames(entry.functionNames)})${tail}`,
    );
  }
}
