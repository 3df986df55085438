/**
 * Templates the bench deploys, written into a temp dir: the echo function under service `Bench`,
 * and N copies of it for the footprint scenario. Code directories are absolute, so the template
 * can live anywhere.
 */
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../gateway/package-root.js';

export const BENCH_SERVICE = 'Bench';
export const ECHO_FUNCTION = 'echo';
/** The same echo with `isolation: none`: it runs inside the gateway process (docs/runtime-node.md §9). */
export const IN_PROCESS_ECHO_FUNCTION = 'echoinside';
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
export function echoFunction(
  name: string,
  options: { instanceConcurrency?: number; maxInstances?: number; isolation?: 'process' | 'none' } = {},
): BenchFunction {
  return benchFunction(name, [
    'runtime: nodejs20',
    'handler: index.handler',
    `codeUri: ${JSON.stringify(ECHO_CODE_DIR)}`,
    'timeout: 30',
    `instanceConcurrency: ${options.instanceConcurrency ?? 32}`,
    `maxInstances: ${options.maxInstances ?? 2}`,
    'maxQueueLength: 10000',
    // Bench clients are devices (bench-logins.ts); the default would admit operators only.
    'invokers: [devices]',
    ...(options.isolation === undefined ? [] : [`isolation: ${options.isolation}`]),
  ]);
}

/** The bench-only echoes in the other runtimes (bench/functions/): bytes in, the same bytes out. */
const BENCH_FUNCTIONS_DIR = join(PACKAGE_ROOT, 'bench', 'functions');

/** `runtime: custom`, web server mode: codeUri/bootstrap, a Node.js node:http server. */
export function customWebEcho(name: string): BenchFunction {
  return benchFunction(name, [
    'runtime: custom',
    'handler: index.handler',
    `codeUri: ${JSON.stringify(join(BENCH_FUNCTIONS_DIR, 'web-echo'))}`,
    'timeout: 30',
    'instanceConcurrency: 1',
    'maxInstances: 1',
  ]);
}

/** `runtime: custom`, non-web mode: codeUri/bootstrap, a sh script run once per event. */
export function customEventEcho(name: string): BenchFunction {
  return benchFunction(name, [
    'runtime: custom',
    'handler: index.handler',
    `codeUri: ${JSON.stringify(join(BENCH_FUNCTIONS_DIR, 'event-echo'))}`,
    'customRuntimeConfig:',
    '  webServerMode: false',
    'timeout: 30',
    'instanceConcurrency: 1',
    'maxInstances: 1',
  ]);
}

/** `runtime: go1`: codeUri/main, a Node.js runtime API client standing in for a Go binary. */
export function runtimeApiEcho(name: string): BenchFunction {
  return benchFunction(name, [
    'runtime: go1',
    'handler: main',
    `codeUri: ${JSON.stringify(join(BENCH_FUNCTIONS_DIR, 'api-echo'))}`,
    'timeout: 30',
    'instanceConcurrency: 1',
    'maxInstances: 1',
  ]);
}

function benchFunction(name: string, lines: readonly string[]): BenchFunction {
  return { name, yaml: lines.map((line) => `        ${line}`).join('\n') };
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

/**
 * The echo template for a gateway in NATS mode, at `dir/template.yml` with the echo code copied
 * to `dir/echo`: the cluster keeps deployments as bundles, which only a template whose code lies
 * inside its directory packs into (docs/cluster.md).
 */
export async function writeBundledEchoTemplate(dir: string): Promise<string> {
  await cp(ECHO_CODE_DIR, join(dir, 'echo'), { recursive: true });
  const fn = echoFunction(ECHO_FUNCTION);
  const templatePath = join(dir, 'template.yml');
  const yaml = fn.yaml.replace(`codeUri: ${JSON.stringify(ECHO_CODE_DIR)}`, 'codeUri: echo');
  await writeFile(templatePath, `edgefc: 1\nservices:\n  ${BENCH_SERVICE}:\n    functions:\n      ${fn.name}:\n${yaml}\n`);
  return templatePath;
}
