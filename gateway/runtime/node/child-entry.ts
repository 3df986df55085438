/**
 * Where the child side lives on disk. Function instances are separate Node processes, so they
 * run compiled JS even when the gateway itself runs from TypeScript sources (vitest):
 *
 * - from `<root>/dist/gateway/runtime/node/child-entry.js`: the sibling `child/runner.js`;
 * - from `<root>/gateway/runtime/node/child-entry.ts`: `<root>/dist/gateway/runtime/node/child/runner.js`,
 *   which `npm run build` (the `pretest` script) produces.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** `<x>/gateway/runtime/node` → `<x>`: `<root>/dist` when compiled, `<root>` from sources. */
const base = resolve(here, '..', '..', '..');
const compiled = basename(base) === 'dist' && fileURLToPath(import.meta.url).endsWith('.js');

/** The repository (or installed package) root. */
export const packageRoot = compiled ? dirname(base) : base;

/** Compiled child entry point. */
export const runnerPath = compiled
  ? join(here, 'child', 'runner.js')
  : join(packageRoot, 'dist', 'gateway', 'runtime', 'node', 'child', 'runner.js');

/** Holds the `linkedge-core-sdk` shim package that function code resolves to (NODE_PATH + ESM hook). */
export const runtimeModulesDir = join(packageRoot, 'runtime-modules');
