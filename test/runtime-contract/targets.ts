/**
 * The runtimes the contract suite runs, each with the same function (test/fixtures/runtimes)
 * and what it can express: non-web mode has no initializer and no handled errors (a process
 * per event, judged by its exit code); only some runtimes label a result as bytes.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionSpec } from '../../gateway/registry/types.js';
import { CustomRuntime } from '../../gateway/runtime/custom/custom-runtime.js';
import { NodeRuntime } from '../../gateway/runtime/node/node-runtime.js';
import { RuntimeApiRuntime } from '../../gateway/runtime/runtime-api/runtime-api-runtime.js';
import type { Runtime } from '../../gateway/runtime/types.js';
import { functionSpec } from '../runtime/harness.js';

export const RUNTIME_FIXTURES = resolve(fileURLToPath(import.meta.url), '../../fixtures/runtimes');

export type StartListener = (info: { id: string; pid: number; functionName: string }) => void;

export interface ContractTarget {
  name: string;
  runtime(onInstanceStart: StartListener): Runtime & { readonly instanceCount: number };
  /** The spec fields that make a function of this runtime, over the suite's defaults. */
  spec: Partial<FunctionSpec>;
  can: {
    /** The function can report an error it handled (callback(err), x-fc-status 404, POST .../error). */
    handled: boolean;
    initializer: boolean;
    /** The result says whether it is bytes (`binary`). */
    binary: boolean;
    /** One process serves many calls (false: a process per call). */
    warm: boolean;
  };
}

const NODE_SPEC: Partial<FunctionSpec> = {
  runtime: 'nodejs20',
  handler: 'index.handler',
  codeDir: join(RUNTIME_FIXTURES, 'node'),
  initializer: undefined,
};

export const targets: ContractTarget[] = [
  {
    name: 'nodejs20',
    runtime: (onInstanceStart) => new NodeRuntime({ onInstanceStart }),
    spec: NODE_SPEC,
    can: { handled: true, initializer: true, binary: true, warm: true },
  },
  {
    name: 'custom (web server)',
    runtime: (onInstanceStart) => new CustomRuntime({ onInstanceStart }),
    spec: { runtime: 'custom', handler: 'index.handler', codeDir: join(RUNTIME_FIXTURES, 'web') },
    can: { handled: true, initializer: true, binary: true, warm: true },
  },
  {
    name: 'custom (non-web)',
    runtime: (onInstanceStart) => new CustomRuntime({ onInstanceStart }),
    spec: {
      runtime: 'custom',
      handler: 'index.handler',
      codeDir: join(RUNTIME_FIXTURES, 'event'),
      customRuntimeConfig: { command: [join(RUNTIME_FIXTURES, 'event', 'bootstrap')], args: [], webServerMode: false },
    },
    can: { handled: false, initializer: false, binary: false, warm: false },
  },
  {
    name: 'go1 (runtime API)',
    runtime: (onInstanceStart) => new RuntimeApiRuntime({ onInstanceStart }),
    spec: { runtime: 'go1', handler: 'handler', codeDir: join(RUNTIME_FIXTURES, 'api') },
    can: { handled: true, initializer: true, binary: false, warm: true },
  },
  {
    // The same Node.js function, its instances made from pre-forked spares (spare-processes.ts)
    // instead of forks: the contract must not be able to tell. Spares count as started processes.
    name: 'nodejs20 (spare processes)',
    runtime: (onInstanceStart) => {
      const runtime = new NodeRuntime({
        onInstanceStart,
        onSpareStart: ({ pid }) => onInstanceStart({ id: 'spare', pid, functionName: '' }),
      });
      runtime.prepare([functionSpec(NODE_SPEC)]);
      return runtime;
    },
    spec: NODE_SPEC,
    can: { handled: true, initializer: true, binary: true, warm: true },
  },
];

/** The initializer string each runtime expects (Node.js loads it; the others only pass it on). */
export function initializerOf(target: ContractTarget): string {
  return target.spec.runtime === 'nodejs20' ? 'index.initializer' : 'initialize';
}
