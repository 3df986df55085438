/**
 * Templates the bench deploys, written into a temp dir: the echo function under service `Bench`,
 * and N copies of it for the footprint scenario. Code directories are absolute, so the template
 * can live anywhere.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../gateway/package-root.js';

export const BENCH_SERVICE = 'Bench';
export const ECHO_FUNCTION = 'echo';
export const ECHO_CODE_DIR = join(PACKAGE_ROOT, 'functions', 'echo');

/** A function as the cold-start scenario deploys it; one entry per runtime (see cold-start.ts). */
export interface BenchFunction {
  name: string;
  /** Template lines under the function's name, indented by 8 spaces. */
  yaml: string;
}

/**
 * The bench echo: 64 calls in flight must all run at once (2 instances × 32), and nothing may be
 * throttled, so the gateway's queue is never what is measured.
 */
export function echoFunction(name: string, options: { instanceConcurrency?: number; maxInstances?: number } = {}): BenchFunction {
  return {
    name,
    yaml: [
      'runtime: nodejs20',
      'handler: index.handler',
      `codeUri: ${JSON.stringify(ECHO_CODE_DIR)}`,
      'timeout: 30',
      `instanceConcurrency: ${options.instanceConcurrency ?? 32}`,
      `maxInstances: ${options.maxInstances ?? 2}`,
      'maxQueueLength: 10000',
    ]
      .map((line) => `        ${line}`)
      .join('\n'),
  };
}

export function templateYaml(functions: readonly BenchFunction[]): string {
  return [
    'edgefc: 1',
    'region: local',
    "accountId: 'bench'",
    'services:',
    `  ${BENCH_SERVICE}:`,
    '    description: edgefc benchmarks',
    '    functions:',
    ...functions.flatMap((fn) => [`      ${fn.name}:`, fn.yaml]),
    '',
  ].join('\n');
}

/** Write a template into a fresh temp dir; returns its path. */
export async function writeTemplate(functions: readonly BenchFunction[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgefc-bench-'));
  const path = join(dir, 'template.yml');
  await writeFile(path, templateYaml(functions));
  return path;
}

/** `count` echo functions named echo0000…: the footprint scenario's large deployment. */
export function manyEchoes(count: number): BenchFunction[] {
  return Array.from({ length: count }, (_, index) => echoFunction(`echo${String(index).padStart(4, '0')}`, { instanceConcurrency: 8, maxInstances: 1 }));
}
