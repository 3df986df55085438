/**
 * Provisioned instances (issue 12 item 6) through a real gateway process and the real CLI:
 * `minInstances` starts instances before the first call, they survive idle reaping, come back
 * after kill -9 and follow a redeploy; `edgefc list` / `stats` show them; a template whose
 * provisioned instances exceed `--memory-budget` is refused at deploy, every problem listed.
 *
 * Each instance writes `<marks>/<pid>` (its VERSION) when its code loads, so "no cold start" is
 * read from the processes started, not from timing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { functionWritableDir, traversableTempDir } from '../fixtures/temp-dirs.js';
import { processAlive } from '../../gateway/runtime/process/process-tree.js';

let gatewayDir: string;
let appDir: string;
let marks: string;
let proc: CliProcess | undefined;
let url: string;
let metricsUrl: string;

/** The gateway's Prometheus samples of one metric for App/warm. */
async function gauge(name: string): Promise<number> {
  const token = (await readFile(join(data(), 'metrics.token'), 'utf8')).trim();
  const text = await (await fetch(metricsUrl, { headers: { authorization: `Bearer ${token}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{function="App/warm"}`));
  return Number(line?.split(' ').pop());
}

function template(version: string, warm = '        minInstances: 1\n        maxInstances: 2\n', cold = ''): string {
  const env = `        environmentVariables:\n          VERSION: ${version}\n          MARKS: ${JSON.stringify(marks)}\n`;
  return `edgefc: 1
services:
  App:
    functions:
      warm:
        runtime: nodejs20
        handler: index.handler
        codeUri: ./fn
        timeout: 30
        memorySize: 128
${warm}        instanceLifecycleConfig:
          idleTimeout: 1
${env}      cold:
        runtime: nodejs20
        handler: index.handler
        codeUri: ./fn
${cold}${env}`;
}

const CODE = `const fs = require('node:fs');
fs.writeFileSync(require('node:path').join(process.env.MARKS, String(process.pid)), process.env.VERSION);
exports.handler = (event, context, callback) => {
  setTimeout(() => callback(null, process.env.VERSION + ' ' + process.pid), Number(String(event)) || 0);
};
`;

async function writeApp(text: string): Promise<string> {
  await mkdir(join(appDir, 'fn'), { recursive: true });
  await writeFile(join(appDir, 'fn/index.js'), CODE);
  const file = join(appDir, 'template.yml');
  await writeFile(file, text);
  return file;
}

/** pid → VERSION of every instance started so far. */
function started(): Map<number, string> {
  return new Map(readdirSync(marks).map((name) => [Number(name), readFileSync(join(marks, name), 'utf8')]));
}

const data = (): string => join(gatewayDir, 'data');

function cli(...args: string[]): ReturnType<typeof runCli> {
  return runCli([...args, '--broker', url, '--credentials', join(data(), 'operator.credentials')], 60_000);
}

async function invoke(payload = ''): Promise<{ version: string; pid: number }> {
  const result = await cli('invoke', 'App/warm', '--payload', payload);
  expect(result.stderr).toBe('');
  const [version = '', pid = ''] = result.stdout.trim().split(' ');
  return { version, pid: Number(pid) };
}

/** The table row of App/warm, by column name. */
async function row(command: 'list' | 'stats', fn = 'warm'): Promise<Record<string, string>> {
  const { stdout, code } = await cli(command);
  expect(code).toBe(0);
  const lines = stdout.split('\n');
  const header = (lines[0] ?? '').trim().split(/\s+/);
  const cells = (lines.find((line) => new RegExp(`^App\\s+${fn}\\s`).test(line)) ?? '').trim().split(/\s+/);
  return Object.fromEntries(header.map((name, i) => [name, cells[i] ?? '']));
}

beforeAll(async () => {
  gatewayDir = await traversableTempDir('edgefc-gw-');
  appDir = await traversableTempDir('edgefc-app-');
  marks = await functionWritableDir(join(gatewayDir, 'marks'));
  const file = await writeApp(template('v1'));
  const metricsPort = await freeLoopbackPort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  proc = startCliProcess(['start', '--port', '0', '--data', data(), '--skip-demo', '--memory-budget', '1024', '--metrics', `127.0.0.1:${metricsPort}`, '--template', file]);
  await proc.waitForOutput(/ready on (mqtt:\/\/\S+)/);
  url = /ready on (mqtt:\/\/\S+)/.exec(proc.output())?.[1] ?? '';
});

afterAll(async () => {
  await stopProcess(proc);
  await rm(gatewayDir, { recursive: true, force: true });
  await rm(appDir, { recursive: true, force: true });
});

describe('provisioned instances (minInstances)', () => {
  test('started before the first call, which is not a cold start; list and stats show them', async () => {
    await expect.poll(() => started().size, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => row('list'), { timeout: 10_000 }).toMatchObject({ PROVISIONED: '1', INSTANCES: '1', IDLE: '1', MAX_INSTANCES: '2' });
    expect(await row('list', 'cold')).toMatchObject({ PROVISIONED: '0', INSTANCES: '0', IDLE: '0' });
    expect(await row('stats')).toMatchObject({ PROVISIONED: '1', INSTANCES: '1', IDLE: '1', RUNNING: '0' });
    const stats = await cli('stats');
    expect(stats.stdout).toContain('memory budget 128 of 1024 MB claimed');
    const listed = JSON.parse((await cli('list', '--json')).stdout) as { services: { functions: { name: string; minInstances: number }[] }[] };
    expect(listed.services[0]?.functions.find((f) => f.name === 'warm')?.minInstances).toBe(1);

    const described = JSON.parse((await cli('describe', 'App/warm', '--json')).stdout) as { function: { minInstances: number }; instances: Record<string, number> };
    expect(described.function.minInstances).toBe(1);
    expect(described.instances).toMatchObject({ provisioned: 1, instances: 1, idle: 1 });
    expect((await cli('describe', 'App/warm')).stdout).toMatch(/instances: instances 1, provisioned 1, idle 1/);
    expect(await gauge('edgefc_provisioned_instances')).toBe(1);
    expect(await gauge('edgefc_idle_instances')).toBe(1);

    const [provisioned] = [...started().keys()];
    expect(await invoke()).toEqual({ version: 'v1', pid: provisioned });
    expect(started().size).toBe(1);
  });

  test('idle reaping (idleTimeout 1 s) stops the extra instance and keeps the provisioned one', async () => {
    await Promise.all([invoke('800'), invoke('800')]);
    expect(started().size).toBe(2);
    // The reaper has run (two instances became one): the next call still finds a warm one.
    await expect.poll(() => row('stats'), { timeout: 10_000 }).toMatchObject({ INSTANCES: '1', IDLE: '1' });
    const { pid } = await invoke();
    expect(started().has(pid)).toBe(true);
    expect(started().size).toBe(2);
  });

  test('a provisioned instance killed with SIGKILL is replaced before the next call', async () => {
    const { pid: victim } = await invoke();
    process.kill(victim, 'SIGKILL');
    await expect.poll(() => started().size, { timeout: 15_000 }).toBe(3);
    await expect.poll(() => row('stats'), { timeout: 10_000 }).toMatchObject({ INSTANCES: '1', IDLE: '1' });
    const { pid } = await invoke();
    expect(pid).not.toBe(victim);
    expect(started().has(pid)).toBe(true);
    expect(started().size).toBe(3);
  });

  test('a redeploy starts the new code\'s provisioned instance and stops the old ones', async () => {
    const before = [...started().keys()];
    const deployed = await cli('deploy', '--template', await writeApp(template('v2')));
    expect(deployed.code).toBe(0);
    await expect.poll(() => [...started().values()].filter((v) => v === 'v2').length, { timeout: 15_000 }).toBe(1);
    const fresh = [...started()].find(([, v]) => v === 'v2')?.[0];
    expect(await invoke()).toEqual({ version: 'v2', pid: fresh });
    await expect.poll(() => before.filter(processAlive), { timeout: 10_000 }).toEqual([]);
    expect([...started().values()].filter((v) => v === 'v2')).toHaveLength(1);
  });

  test('provisioned instances over --memory-budget are refused at deploy, every function named; the old code serves on', async () => {
    const tooBig = template('v3', '        minInstances: 2\n        maxInstances: 2\n        memorySize: 512\n', '        minInstances: 1\n        memorySize: 256\n')
      .replace('        memorySize: 128\n        minInstances: 2', '        minInstances: 2');
    const refused = await cli('deploy', '--template', await writeApp(tooBig));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('InvalidArgument');
    expect(refused.stderr).toContain('services.App.functions.warm.minInstances: 2 provisioned × 512 MB');
    expect(refused.stderr).toContain('services.App.functions.cold.minInstances: 1 provisioned × 256 MB');
    expect(refused.stderr).toContain('need 1280 MB in all, over the gateway\'s memory budget of 1024 MB');
    expect((await invoke()).version).toBe('v2');
  });
});
