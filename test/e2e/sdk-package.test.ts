/**
 * The two packages as a device developer and an operator get them (docs/architecture.md,
 * "Packages"): both are packed with `npm pack`; the SDK's tarball is installed alone into an
 * empty project (no gateway package, no compiler, `--ignore-scripts`), where a CommonJS and an
 * ES module program invoke functions on a gateway and tsc checks consumers against the shipped
 * declaration files.
 *
 * The gateway runs from this workspace (`bin/edgefc.js` → dist/, built by `pretest`), not from
 * its tarball: installing that compiles better-sqlite3 (about a minute on 2 cores); its tarball's
 * contents are checked instead. The SDK's install uses `--prefer-offline`: mqtt, nanoid and
 * mqtt's dependencies come from npm's cache when it has them (`npm ci` fills it), else from the
 * registry.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { PACKAGE_ROOT, SAMPLE_TEMPLATE } from '../../gateway/package-root.js';
import { CLI, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

const SDK_DIR = join(PACKAGE_ROOT, 'src');
const CONSUMER_FIXTURES = fileURLToPath(new URL('../fixtures/sdk-consumer/', import.meta.url));
const TSC = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** The goal for what the SDK adds to a device beyond mqtt and its dependencies. */
const MAX_BYTES_BEYOND_MQTT = 5 * 1024 * 1024;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion; bounded, so a hung npm fails this test rather than the suite. */
function run(file: string, args: string[], options: { cwd: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const input = options.input;
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} did not finish\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined && child.stdin !== null) {
      // A program that exits without reading its input closes the pipe first (EPIPE): its exit
      // code and output say what happened, not the write.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

async function ok(file: string, args: string[], options: Parameters<typeof run>[2]): Promise<string> {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

interface PackResult {
  filename: string;
  files: { path: string }[];
}

/** `npm pack` of the package in `dir` into `destination`; scripts off: `pretest` built it already. */
async function pack(dir: string, destination: string): Promise<PackResult> {
  const stdout = await ok('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], { cwd: dir });
  const [result] = JSON.parse(stdout) as PackResult[];
  if (result === undefined) throw new Error(`npm pack in ${dir} said nothing`);
  return result;
}

interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  hasInstallScript?: boolean;
}
type Lock = Record<string, LockEntry>;

/** The lockfile path `name` resolves to from the package at `from`, as Node's lookup walks up. */
function resolveIn(lock: Lock, from: string, name: string): string | undefined {
  for (let dir = from; ; ) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock[candidate] !== undefined) return candidate;
    if (dir === '') return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

/** `start` and every package it depends on, directly or not. */
function closure(lock: Lock, start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  for (let path = todo.pop(); path !== undefined; path = todo.pop()) {
    if (seen.has(path)) continue;
    seen.add(path);
    const entry = lock[path];
    for (const name of Object.keys({ ...entry?.dependencies, ...entry?.optionalDependencies })) {
      const found = resolveIn(lock, path, name);
      if (found !== undefined) todo.push(found);
    }
  }
  return seen;
}

/** Bytes of the files under `path` (the apparent size, as `du -sb`). */
async function treeBytes(path: string): Promise<number> {
  const stat = await lstat(path);
  if (!stat.isDirectory()) return stat.isFile() ? stat.size : 0;
  let total = 0;
  for (const entry of await readdir(path)) total += await treeBytes(join(path, entry));
  return total;
}

describe('the SDK and the gateway as two packages', () => {
  let work: string;
  let project: string;
  let sdk: PackResult;
  let gateway: PackResult;

  beforeAll(async () => {
    if (!existsSync(join(SDK_DIR, 'dist', 'index.js'))) throw new Error('src/dist is missing: run `npm run build` (npm test does)');
    work = await traversableTempDir('edgefc-packages-');
    project = join(work, 'device');
    [sdk, gateway] = await Promise.all([pack(SDK_DIR, work), pack(PACKAGE_ROOT, work)]);
    await ok('mkdir', [project], { cwd: work });
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'device', version: '1.0.0', private: true }));
    await ok('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', join(work, sdk.filename)], { cwd: project, timeoutMs: 120_000 });
  }, 180_000);

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('packs the SDK with its build, declarations, LICENSE and README only', async () => {
    const paths = sdk.files.map((file) => file.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/protocol/index.js', 'dist/mqtt/index.d.ts']));
    for (const path of paths) expect(path, path).toMatch(/^(LICENSE|README\.md|package\.json|dist\/.+\.(js|d\.ts))$/);
    expect(await readFile(join(SDK_DIR, 'LICENSE'), 'utf8')).toBe(await readFile(join(PACKAGE_ROOT, 'LICENSE'), 'utf8'));
    const manifest = JSON.parse(await readFile(join(SDK_DIR, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(manifest['dependencies'] as object).sort()).toEqual(['mqtt', 'nanoid']);
    expect(manifest).toMatchObject({ name: 'edgefc', license: 'MIT', engines: { node: expect.any(String) }, repository: { type: 'git' } });
  });

  it('packs the gateway without benchmarks, tests or build info, its source maps carrying their sources', async () => {
    const paths = gateway.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(['bin/edgefc.js', 'dist/gateway/cli/edgefc.js', 'runtime-modules/linkedge-core-sdk/index.cjs', 'functions/template.yml', 'LICENSE']));
    expect(paths.filter((path) => /^(bench|test|src|gateway)\/|^dist\/(bench|src)\/|tsbuildinfo|\.tgz$/.test(path))).toEqual([]);
    const maps = paths.filter((path) => path.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const path of maps) {
      const map = JSON.parse(await readFile(join(PACKAGE_ROOT, path), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      expect(map.sourcesContent?.length, path).toBe(map.sources.length);
    }
    const manifest = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { bin: object; dependencies: Record<string, string> };
    expect(manifest.bin).toEqual({ edgefc: 'bin/edgefc.js' });
    // The gateway uses the SDK's subpath exports, which follow its version: pinned exactly.
    expect(manifest.dependencies['edgefc']).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('installs the SDK alone: mqtt, nanoid and mqtt\'s dependencies, no install scripts, well under 5 MB beyond mqtt', async () => {
    const lock = (JSON.parse(await readFile(join(project, 'package-lock.json'), 'utf8')) as { packages: Lock }).packages;
    const installed = Object.keys(lock).filter((path) => path !== '');
    expect(installed.filter((path) => lock[path]?.hasInstallScript === true)).toEqual([]);
    const mqtt = closure(lock, 'node_modules/mqtt');
    const beyondMqtt = installed.filter((path) => !mqtt.has(path)).sort();
    expect(beyondMqtt).toEqual(['node_modules/edgefc', 'node_modules/nanoid']);
    const bytes = await treeBytes(join(project, 'node_modules'));
    let beyond = 0;
    for (const path of beyondMqtt) beyond += await treeBytes(join(project, path));
    expect(beyond).toBeLessThan(MAX_BYTES_BEYOND_MQTT);
    // The figures README.md quotes ("Installing the SDK"): re-measured by every run.
    console.info(`SDK install: ${installed.length} packages, ${(bytes / 1e6).toFixed(2)} MB; beyond mqtt and its ${mqtt.size - 1} dependencies: ${(beyond / 1e3).toFixed(0)} kB`);
  });

  it('type-checks ES module and CommonJS consumers against the shipped declarations', async () => {
    for (const file of ['types.mts', 'types.cts']) await copyFile(join(CONSUMER_FIXTURES, file), join(project, file));
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(PACKAGE_ROOT, 'node_modules', '@types')],
        },
        files: ['types.mts', 'types.cts'],
      }),
    );
    const result = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project, timeoutMs: 110_000 });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
    // tsc checks the SDK's and mqtt's declaration files too (no skipLibCheck): ~5 s idle, 20 s
    // measured on 2 cores at load average 16.
  }, 120_000);

  describe('devices on the installed SDK call a gateway', () => {
    let proc: CliProcess | undefined;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      const data = join(work, 'gateway-data');
      await ok(process.execPath, [CLI, 'users', 'add', 'sensor-1', '--role', 'device', '--data', data], { cwd: work, input: 'sensor-1-password\n' });
      const port = await freeLoopbackPort();
      proc = startCliProcess(['start', '--template', SAMPLE_TEMPLATE, '--port', String(port), '--data', data, '--metrics', 'off']);
      await proc.waitForOutput(/edgefc gateway ready on/, 60_000);
      env = { ...process.env, EDGEFC_BROKER_URL: `mqtt://127.0.0.1:${port}`, EDGEFC_USERNAME: 'sensor-1', EDGEFC_PASSWORD: 'sensor-1-password' };
      for (const file of ['invoke.cjs', 'invoke.mjs']) await copyFile(join(CONSUMER_FIXTURES, file), join(project, file));
    }, 90_000);

    afterAll(async () => {
      await stopProcess(proc);
    });

    it('from CommonJS: require("edgefc"), a Sync call, and a typed error through the callback', async () => {
      const { code, stdout, stderr } = await run(process.execPath, ['invoke.cjs'], { cwd: project, env });
      expect(stderr).toBe(''); // require() of the ES module build: no ExperimentalWarning on Node >= 20.19
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ payload: expect.stringMatching(/^Hello/), code: 'FunctionNotFound', typed: true });
    });

    it('from an ES module: import, a Sync call and an Async call', async () => {
      const stdout = await ok(process.execPath, ['invoke.mjs'], { cwd: project, env });
      expect(JSON.parse(stdout)).toEqual({ payload: 'from ESM', requestId: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) });
    });
  });
});
