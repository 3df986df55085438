/**
 * Fixed-port custom web servers (`customRuntimeConfig.port`, FC's CAPort), placed at start and at
 * every deploy (docs/runtime-custom.md §3.2), beside containment's placement:
 *
 * - where the gateway can make network namespaces (net-namespace.ts), each instance gets its
 *   own, so instances of one function, and functions with the same port, never collide;
 * - elsewhere every fixed-port function shares the gateway's network: it runs one instance
 *   (maxInstances is lowered to 1, and the log says so), and two functions with the same port
 *   are refused, as a template problem (InvalidArgument), before anything is replaced.
 */
import type { Logger } from '../../logging/logger.js';
import { TemplateError, type TemplateProblem } from '../../registry/template-error.js';
import { RuntimeName, type FunctionSpec, type Template } from '../../registry/types.js';
import { netNamespaceSupport, type NamespaceSupport } from './net-namespace.js';

/** The port a function's server is fixed to, if any. */
export function fixedPortOf(fn: Readonly<FunctionSpec>): number | undefined {
  if (fn.runtime !== RuntimeName.custom || fn.customRuntimeConfig?.webServerMode === false) return undefined;
  return fn.customRuntimeConfig?.port;
}

export function placeFixedPorts(template: Template, logger: Logger, given?: NamespaceSupport): Template {
  const fixed = template.functions.filter((fn) => fixedPortOf(fn) !== undefined);
  if (fixed.length === 0) return template;
  // Probed only when a function needs it (one `unshare` run per gateway process).
  const support = given ?? netNamespaceSupport();
  if (support.ok) return template;
  const byPort = new Map<number, FunctionSpec[]>();
  for (const fn of fixed) {
    const port = fixedPortOf(fn) ?? 0;
    byPort.set(port, [...(byPort.get(port) ?? []), fn]);
  }
  const problems: TemplateProblem[] = [];
  for (const [port, fns] of byPort) {
    if (fns.length < 2) continue;
    const names = fns.map((fn) => `${fn.serviceName}/${fn.name}`);
    for (const fn of fns) {
      problems.push({
        field: `services.${fn.serviceName}.functions.${fn.name}.customRuntimeConfig.port`,
        reason: `port ${port} is also the port of ${names.filter((n) => n !== `${fn.serviceName}/${fn.name}`).join(', ')}, and they would share one network here (${support.reason}): give each its own port`,
      });
    }
  }
  if (problems.length > 0) throw new TemplateError(template.path, problems);
  const functions = template.functions.map((fn) => {
    if (fixedPortOf(fn) === undefined || fn.maxInstances === 1) return fn;
    logger.warn('a fixed-port function runs one instance here: its instances would share one network and one port', {
      function: `${fn.serviceName}/${fn.name}`,
      port: fixedPortOf(fn),
      maxInstances: `${fn.maxInstances} → 1`,
      why: support.reason,
    });
    // Provisioned instances stay within the maximum: 1 here.
    return { ...fn, maxInstances: 1, ...(fn.minInstances === undefined ? {} : { minInstances: Math.min(1, fn.minInstances) }) };
  });
  return { ...template, functions };
}
