/**
 * Redeploy: load a template, and if it is good, make it the registry's and retire the old
 * pools (FunctionHost.redeploy). New calls go to pools built from the new specs; calls the old
 * pools accepted run to their end there; then the old instances stop, pre-stop hooks included.
 * A bad template throws the same TemplateError as at start (file, line, field, why) and
 * nothing changes. Deploys run one at a time, in the order they were asked for.
 */
import type { FunctionHost } from '../function-host.js';
import type { Logger } from '../logging/logger.js';
import { loadTemplate } from './load-template.js';
import type { Registry } from './registry.js';
import { Isolation, type Template } from './types.js';

export interface DeployResult {
  /** Absolute path of the template now served. */
  template: string;
  /** Functions it defines. */
  functions: number;
  /** Pools of the previous deploy now finishing their calls. */
  retired: number;
  /**
   * MQTT trigger filters that changed: the gateway subscribes to them when it starts, so new
   * ones take effect at the next restart (removed ones stop matching at once).
   */
  triggersChanged: boolean;
}

export interface DeployerOptions {
  registry: Registry;
  host: FunctionHost;
  logger: Logger;
  /** @default loadTemplate */
  load?: (file: string) => Promise<Template>;
}

export class Deployer {
  readonly #options: DeployerOptions;
  #last: Promise<unknown> = Promise.resolve();

  constructor(options: DeployerOptions) {
    this.#options = options;
  }

  /** Deploy `templatePath` (default: the template now served, re-read). Rejects with TemplateError. */
  deploy(templatePath?: string): Promise<DeployResult> {
    const next = this.#last.then(
      () => this.#deploy(templatePath),
      () => this.#deploy(templatePath),
    );
    this.#last = next.catch(() => undefined);
    return next;
  }

  async #deploy(templatePath: string | undefined): Promise<DeployResult> {
    const { registry, host, logger } = this.#options;
    const file = templatePath ?? registry.templatePath;
    const load = this.#options.load ?? loadTemplate;
    let template: Template;
    try {
      template = await load(file);
    } catch (error) {
      logger.warn('redeploy refused; the previous template keeps serving', {
        template: file,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
    const before = triggerFilters(registry);
    registry.replace(template);
    const { retired, drained } = host.redeploy();
    const triggersChanged = triggerFilters(registry) !== before;
    logger.info('redeployed', { template: template.path, functions: registry.functions().length, retired });
    if (triggersChanged) logger.warn('trigger topics changed: new ones are subscribed at the next restart');
    const inProcess = registry.functions().filter((fn) => fn.isolation === Isolation.none);
    if (inProcess.length > 0) {
      // Their modules stay loaded in the gateway process (docs/runtime-node.md §9).
      logger.warn('isolation: none functions keep the code they loaded; changed code takes effect at the next restart', {
        functions: inProcess.map((fn) => `${fn.serviceName}/${fn.name}`).join(' '),
      });
    }
    void drained.then(
      () => logger.info('previous deploy drained', { pools: retired }),
      () => undefined,
    );
    return { template: template.path, functions: registry.functions().length, retired, triggersChanged };
  }
}

function triggerFilters(registry: Registry): string {
  return JSON.stringify([...new Set(registry.functions().flatMap((fn) => (fn.triggers ?? []).map((t) => t.topic)))].sort());
}
