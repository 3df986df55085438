/**
 * The gateway's memory budget (`edgefc start --memory-budget MB`): every function instance
 * counts its function's `memorySize`, the figure its Node.js heap is capped at
 * (docs/runtime-node.md) and the one FC bills by.
 *
 * - At start and at every deploy, the provisioned instances (minInstances × memorySize, summed
 *   over the template) must fit: a template whose provisioned instances alone exceed the budget
 *   is refused with one problem per function that provisions (checkProvisionedMemory).
 * - Each pool claims max(its instances, its minInstances) × memorySize, so the provisioned
 *   instances are always room held. An on-demand instance starts only if the claims with it
 *   still fit; otherwise its call waits for one of the function's own instances or, when the
 *   function has none, is refused with ResourceThrottled (FC's answer past its limits).
 *
 * The budget is a bound on what functions may ask for, not a measurement: a Node.js process
 * uses less than its cap when idle, a custom runtime may use more (it is not capped).
 */
import { freemem, totalmem } from 'node:os';
import { TemplateError, type TemplateProblem } from '../registry/template-error.js';
import type { Template } from '../registry/types.js';

/**
 * Default budget: 75 % of the box's memory. The rest is for the gateway itself (~60 MB), the
 * embedded broker, the Async store's page cache and the OS; on a 1 GB board that leaves 768 MB,
 * six 128 MB instances.
 */
export const DEFAULT_BUDGET_SHARE = 0.75;

export function defaultMemoryBudgetMB(total: number = totalmem()): number {
  return Math.floor((total / 2 ** 20) * DEFAULT_BUDGET_SHARE);
}

export class MemoryBudget {
  readonly totalMB: number;
  readonly #claims = new Map<object, number>();

  constructor(totalMB: number = defaultMemoryBudgetMB()) {
    this.totalMB = totalMB;
  }

  /** MB claimed by every pool together. */
  get usedMB(): number {
    let sum = 0;
    for (const mb of this.#claims.values()) sum += mb;
    return sum;
  }

  /** Whether `owner` may claim `mb` in all (instead of what it claims now). */
  fits(owner: object, mb: number): boolean {
    return this.usedMB - (this.#claims.get(owner) ?? 0) + mb <= this.totalMB;
  }

  /** What `owner` holds now; 0 drops it. */
  claim(owner: object, mb: number): void {
    if (mb <= 0) this.#claims.delete(owner);
    else this.#claims.set(owner, mb);
  }
}

/**
 * A template whose provisioned instances do not fit in `budgetMB` → TemplateError
 * (InvalidArgument) naming every function that provisions, with its share, so one look shows
 * what to lower. A function whose one instance is larger than the whole budget is named too:
 * it could never run.
 */
export function checkProvisionedMemory(template: Template, budgetMB: number): Template {
  const problems: TemplateProblem[] = [];
  const field = (fn: Template['functions'][number], name: string): string => `services.${fn.serviceName}.functions.${fn.name}.${name}`;
  for (const fn of template.functions) {
    if (fn.memorySizeMB > budgetMB) {
      problems.push({ field: field(fn, 'memorySize'), reason: `one instance needs ${fn.memorySizeMB} MB, more than the gateway's whole memory budget of ${budgetMB} MB (edgefc start --memory-budget)` });
    }
  }
  const provisioned = template.functions.filter((fn) => (fn.minInstances ?? 0) > 0);
  const needed = provisioned.reduce((sum, fn) => sum + (fn.minInstances ?? 0) * fn.memorySizeMB, 0);
  if (needed > budgetMB) {
    for (const fn of provisioned) {
      problems.push({
        field: field(fn, 'minInstances'),
        reason: `${fn.minInstances ?? 0} provisioned × ${fn.memorySizeMB} MB = ${(fn.minInstances ?? 0) * fn.memorySizeMB} MB; the template's provisioned instances need ${needed} MB in all, over the gateway's memory budget of ${budgetMB} MB (edgefc start --memory-budget)`,
      });
    }
  }
  if (problems.length > 0) throw new TemplateError(template.path, problems);
  return template;
}

/** For `edgefc stats`: the budget, what is claimed, and what the OS says is free. */
export function memoryReport(budget: MemoryBudget): { budgetMB: number; usedMB: number; freeMB: number } {
  return { budgetMB: budget.totalMB, usedMB: budget.usedMB, freeMB: Math.floor(freemem() / 2 ** 20) };
}
