/**
 * A gateway killed with SIGKILL leaves no function running (docs/runtime-node.md §1.2): every
 * Node.js function process, instance or spare, sees its channel end and kills its process group,
 * what the function spawned included. Through a real gateway process and the real CLI.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { childPids, processAlive } from '../../gateway/runtime/process/process-tree.js';
import { killHard, runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

let proc: CliProcess | undefined;
const dirs: string[] = [];

afterAll(async () => {
  await stopProcess(proc);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('kill -9 of the gateway: its function instances, its spare and what a function spawned all end', async () => {
  const gatewayDir = await traversableTempDir('edgefc-gw-');
  const appDir = await traversableTempDir('edgefc-app-');
  dirs.push(gatewayDir, appDir);
  await mkdir(join(appDir, 'fn'));
  // Spawns a sleep (in the function's process group: the group kill ends it too) and answers both pids.
  await writeFile(
    join(appDir, 'fn/index.js'),
    `const { spawn } = require('node:child_process');
exports.handler = (event, context, callback) => {
  const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  callback(null, process.pid + ' ' + sleeper.pid);
};
`,
  );
  const template = join(appDir, 'template.yml');
  await writeFile(template, 'edgefc: 1\nservices:\n  App:\n    functions:\n      fn:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ./fn\n');
  const data = join(gatewayDir, 'data');
  proc = startCliProcess(['start', '--port', '0', '--data', data, '--skip-demo', '--template', template]);
  await proc.waitForOutput(/ready on (mqtt:\/\/\S+)/);
  const url = /ready on (mqtt:\/\/\S+)/.exec(proc.output())?.[1] ?? '';
  const called = await runCli(['invoke', 'App/fn', '--broker', url, '--credentials', join(data, 'operator.credentials')], 60_000);
  expect(called.stderr).toBe('');
  const [instance, sleeper] = called.stdout.trim().split(' ').map(Number) as [number, number];
  expect(processAlive(instance) && processAlive(sleeper)).toBe(true);
  const gatewayPid = proc.child.pid as number;
  // The instance and the spare forked to replace the one it was started from.
  await expect.poll(() => childPids(gatewayPid).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
  const functionProcesses = childPids(gatewayPid);
  expect(functionProcesses).toContain(instance);

  await killHard(proc);
  proc = undefined;
  await expect.poll(() => [...functionProcesses, sleeper].filter(processAlive), { timeout: 10_000 }).toEqual([]);
});
