/**
 * Redeploy: load a template, and if it is good, make it the registry's and retire the old
 * pools (FunctionHost.redeploy). New calls go to pools built from the new specs; calls the old
 * pools accepted run to their end there; then the old instances stop, pre-stop hooks included.
 * A bad template throws the same TemplateError as at start (file, line, field, why) and
 * nothing changes. Trigger topics (§11) follow the template: new ones are subscribed and
 * dropped ones unsubscribed before the new functions serve; a broker that refuses a new one
 * (ACL) fails the deploy, and the old template keeps serving. Deploys run one at a time, in the
 * order they were asked for.
 */
import { EdgeFCError, ServiceUnavailableError } from 'edgefc/errors';
import type { FunctionHost } from '../function-host.js';
import type { Logger } from '../logging/logger.js';
import { loadTemplate } from './load-template.js';
import type { Registry } from './registry.js';
import { Isolation, type FunctionSpec, type Template } from './types.js';

export interface DeployResult {
  /** Absolute path of the template now served. */
  template: string;
  /** Functions it defines. */
  functions: number;
  /** Pools of the previous deploy now finishing their calls. */
  retired: number;
  /** The MQTT trigger filters changed (and the gateway's subscriptions with them). */
  triggersChanged: boolean;
}

export interface DeployerOptions {
  registry: Registry;
  host: FunctionHost;
  logger: Logger;
  /** @default loadTemplate */
  load?: (file: string) => Promise<Template>;
  /** Make the broker link take these trigger filters (GatewayTransport.setTriggerFilters). */
  setTriggerFilters: (filters: readonly string[]) => Promise<void>;
  /**
   * Give each function its user and staged code (containment/containment.ts) before it serves;
   * a rejection refuses the deploy. @default the template as loaded
   */
  place?: (template: Template) => Promise<Template>;
  /**
   * Remove what no function of `served` uses (staged code); called when no pool of an earlier
   * deploy is left running. @default nothing to remove
   */
  collect?: (served: readonly FunctionSpec[]) => Promise<void>;
}

export class Deployer {
  readonly #options: DeployerOptions;
  #last: Promise<unknown> = Promise.resolve();
  /** Deploys whose retired pools still run calls. */
  #draining = 0;

  constructor(options: DeployerOptions) {
    this.#options = options;
  }

  /**
   * Deploy `templatePath` (default: the template now served, re-read), passed through `select`
   * (a deployment's removed functions left out). Rejects with TemplateError.
   */
  deploy(templatePath?: string, select?: (template: Template) => Template): Promise<DeployResult> {
    const next = this.#last.then(
      () => this.#deploy(templatePath, select),
      () => this.#deploy(templatePath, select),
    );
    this.#last = next.catch(() => undefined);
    return next;
  }

  async #deploy(templatePath: string | undefined, select: ((template: Template) => Template) | undefined): Promise<DeployResult> {
    const { registry, host, logger } = this.#options;
    const file = templatePath ?? registry.templatePath;
    const load = this.#options.load ?? loadTemplate;
    let template: Template;
    try {
      template = await load(file);
      if (select !== undefined) template = select(template);
      if (this.#options.place !== undefined) template = await this.#options.place(template);
    } catch (error) {
      logger.warn('redeploy refused; the previous template keeps serving', {
        template: file,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
    const before = triggerFilters(registry.functions());
    const after = triggerFilters(template.functions);
    const triggersChanged = after.join('\n') !== before.join('\n');
    if (triggersChanged) await this.#follow(after, file);
    registry.replace(template);
    const { retired, drained } = host.redeploy();
    logger.info('redeployed', { template: template.path, functions: registry.functions().length, retired, ...(triggersChanged ? { triggers: after.join(' ') } : {}) });
    const inProcess = registry.functions().filter((fn) => fn.isolation === Isolation.none);
    if (inProcess.length > 0) {
      // Their modules stay loaded in the gateway process (docs/runtime-node.md §9).
      logger.warn('isolation: none functions keep the code they loaded; changed code takes effect at the next restart', {
        functions: inProcess.map((fn) => `${fn.serviceName}/${fn.name}`).join(' '),
      });
    }
    this.#draining += 1;
    void drained.then(
      () => logger.info('previous deploy drained', { pools: retired }),
      () => undefined,
    ).finally(() => {
      this.#draining -= 1;
      if (this.#draining === 0) this.#collect();
    });
    return { template: template.path, functions: registry.functions().length, retired, triggersChanged };
  }

  /**
   * Every pool of an earlier deploy is gone: what the registry serves now is all that runs.
   * Queued behind deploys in progress, so code staged for one is never removed under it.
   */
  #collect(): void {
    const { collect, registry, logger } = this.#options;
    if (collect === undefined) return;
    // Checked again when its turn comes: a deploy queued before it may have retired pools since.
    const next = this.#last.then(() => (this.#draining === 0 ? collect(registry.functions()) : undefined));
    this.#last = next.catch((error: unknown) => {
      logger.warn('could not remove unused staged code', { error: error instanceof Error ? error.message : String(error) });
    });
  }

  /** Subscribe `after`; when the broker refuses (the link then keeps `before`), refuse the deploy. */
  async #follow(after: readonly string[], file: string): Promise<void> {
    const { logger, setTriggerFilters } = this.#options;
    try {
      await setTriggerFilters(after);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn('redeploy refused; the previous template keeps serving', { template: file, error: reason });
      throw error instanceof EdgeFCError ? error : new ServiceUnavailableError(`could not subscribe the template's trigger topics: ${reason}`, { cause: error });
    }
  }
}

/** The distinct trigger filters of `functions`, sorted. */
export function triggerFilters(functions: readonly FunctionSpec[]): string[] {
  return [...new Set(functions.flatMap((fn) => (fn.triggers ?? []).map((t) => t.topic)))].sort();
}
