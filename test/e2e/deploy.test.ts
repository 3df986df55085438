/**
 * Deployments end to end (docs/protocol.md §9.9–§9.11, docs/lifecycle.md "Deployments"): an
 * operator deploys a template and its code from a directory of its own to a gateway process,
 * the gateway is killed with SIGKILL and started again with the same command line, a rollback,
 * a bad bundle, and a removal with a call in flight. Real processes, the real CLI.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ErrorCode, FCClient } from '../../src/index.js';
import { operatorLogin, runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { functionWritableDir, traversableTempDir } from '../fixtures/temp-dirs.js';

let gatewayDir: string;
let appDir: string;
let marks: string;
let proc: CliProcess | undefined;
let client: FCClient | undefined;

beforeEach(async () => {
  gatewayDir = await traversableTempDir('edgefc-gw-');
  appDir = await traversableTempDir('edgefc-app-');
  marks = await functionWritableDir(join(appDir, 'marks'));
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  await stopProcess(proc);
  proc = undefined;
  await rm(gatewayDir, { recursive: true, force: true });
  await rm(appDir, { recursive: true, force: true });
});

const TEMPLATE = `edgefc: 1
services:
  App:
    functions:
      hello:
        runtime: nodejs20
        handler: index.handler
        codeUri: ./fn
        timeout: 30
      slow:
        runtime: nodejs20
        handler: index.handler
        codeUri: ./fn
        timeout: 30
`;

/** Answers its version; "hold:NAME" marks that it started, then waits for NAME.release. */
function code(version: string): string {
  return `const fs = require('node:fs');
const path = require('node:path');
exports.handler = (event, context, callback) => {
  const text = String(event);
  if (!text.startsWith('hold:')) return callback(null, ${JSON.stringify(version)});
  const name = path.join(${JSON.stringify(marks)}, text.slice(5));
  try { fs.writeFileSync(name + '.started.' + context.requestId, ''); } catch {}
  const timer = setInterval(() => {
    if (fs.existsSync(name + '.release')) { clearInterval(timer); callback(null, ${JSON.stringify(version)} + ' released'); }
  }, 20);
};
`;
}

async function writeApp(version: string, template = TEMPLATE): Promise<string> {
  await mkdir(join(appDir, 'fn/node_modules/dep'), { recursive: true });
  await writeFile(join(appDir, 'template.yml'), template);
  await writeFile(join(appDir, 'fn/index.js'), code(version));
  await writeFile(join(appDir, 'fn/node_modules/dep/index.js'), 'module.exports = 1;\n');
  await writeFile(join(appDir, 'fn/debug.log'), 'left out by .edgefcignore\n');
  await writeFile(join(appDir, '.edgefcignore'), '*.log\nmarks/\n');
  return join(appDir, 'template.yml');
}

const data = (): string => join(gatewayDir, 'data');
const START = (): string[] => ['start', '--port', '0', '--data', data(), '--skip-demo'];

async function startGateway(args: string[] = START()): Promise<string> {
  proc = startCliProcess(args);
  await proc.waitForOutput(/ready on (mqtt:\/\/\S+)/);
  const url = /ready on (mqtt:\/\/\S+)/.exec(proc.output())?.[1] ?? '';
  await client?.close();
  client = new FCClient({ brokerUrl: url, timeout: 20_000, ...(await operatorLogin(data())) });
  return url;
}

function cli(url: string, ...args: string[]): ReturnType<typeof runCli> {
  return runCli([...args, '--broker', url, '--credentials', join(data(), 'operator.credentials')], 60_000);
}

async function call(functionName: string, payload = ''): Promise<string> {
  const { payload: result } = await (client as FCClient).invokeFunction({ serviceName: 'App', functionName, payload });
  return String(result);
}

interface Listed {
  deployments: { id: string; current: boolean; principal: string; source: string; functions: string[]; sha256: string }[];
}

async function listed(url: string): Promise<Listed> {
  const result = await cli(url, 'deployments', 'list', '--json');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Listed;
}

describe('edgefc deploy', () => {
  test('an empty data directory serves nothing and says how to deploy', async () => {
    const url = await startGateway();
    expect(proc?.output()).toMatch(/0 function\(s\)[\s\S]*no functions deployed yet: deploy a template with\n {2}npx edgefc deploy --template/);
    expect((await listed(url)).deployments).toEqual([]);
  });

  test('upload from another directory; kill -9 and the same command line serve it, and a stored Async call completes; rollback', async () => {
    let url = await startGateway();
    const file = await writeApp('v1');
    const deployed = await cli(url, 'deploy', '--template', file);
    expect(deployed.stderr).toMatch(/packed .*template\.yml: 3 file\(s\)/);
    expect(deployed.stderr).toMatch(/upload: 100%/);
    expect(deployed.stdout).toMatch(/as deployment d1: 2 function\(s\)/);
    expect(deployed.code).toBe(0);
    expect(await call('hello')).toBe('v1');
    expect(existsSync(join(data(), 'deployments/d1/files/fn/node_modules/dep/index.js'))).toBe(true);
    expect(existsSync(join(data(), 'deployments/d1/files/fn/debug.log'))).toBe(false);

    // An Async call running when the gateway dies runs again after the restart (§10.4).
    const { requestId } = await (client as FCClient).invokeFunction({ serviceName: 'App', functionName: 'slow', invocationType: 'Async', payload: 'hold:async' });
    await expect.poll(() => existsSync(join(marks, `async.started.${requestId}`)), { timeout: 20_000 }).toBe(true);
    process.kill(-(proc?.child.pid ?? 0), 'SIGKILL');
    await stopProcess(proc);
    await writeFile(join(marks, 'async.release'), '');

    url = await startGateway();
    expect(proc?.output()).toMatch(/2 function\(s\)/);
    expect(await call('hello')).toBe('v1');
    await expect.poll(async () => (await (client as FCClient).getAsyncStatus(requestId ?? '')).state, { timeout: 20_000 }).toBe('succeeded');

    await writeApp('v2');
    expect((await cli(url, 'deploy', '--template', file, '--json')).code).toBe(0);
    expect(await call('hello')).toBe('v2');
    const rolledBack = await cli(url, 'deploy', '--rollback');
    expect(rolledBack.stdout).toMatch(/as deployment d3/);
    expect(rolledBack.code).toBe(0);
    expect(await call('hello')).toBe('v1');
    const table = await cli(url, 'deployments', 'list');
    expect(table.stdout).toMatch(/^ID +CREATED +BY +SOURCE/);
    expect(table.stdout).toMatch(/\*d3 .* rollback of d1 /);
    const { deployments } = await listed(url);
    expect(deployments.map((d) => [d.id, d.current, d.source])).toEqual([
      ['d1', false, 'upload'],
      ['d2', false, 'upload'],
      ['d3', true, 'rollback'],
    ]);
    expect(deployments[2]?.sha256).toBe(deployments[0]?.sha256);
  });

  test('a bad bundle changes nothing and is reported as file:line:col', async () => {
    const url = await startGateway();
    const file = await writeApp('v1');
    expect((await cli(url, 'deploy', '--template', file)).code).toBe(0);
    const before = await listed(url);

    // Checked by the CLI before the upload...
    await writeApp('v2', TEMPLATE.replace('codeUri: ./fn\n        timeout: 30\n      slow', 'codeUri: ./fn\n        timeout: forever\n      slow'));
    const local = await cli(url, 'deploy', '--template', file, '--json');
    expect(local.code).toBe(1);
    expect((JSON.parse(local.stdout) as { error: { message: string } }).error.message).toMatch(/template\.yml:\d+:\d+: services\.App\.functions\.hello\.timeout/);

    // ...and by the gateway, whatever the uploader checked: a handler file missing in the bundle.
    await writeApp('v2');
    await writeFile(join(appDir, '.edgefcignore'), 'index.js\n');
    const refused = await cli(url, 'deploy', '--template', file, '--json');
    expect(refused.code).toBe(1);
    const { error } = JSON.parse(refused.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    expect(error.message).toMatch(/^template\.yml: 2 problems in the template:\n {2}template\.yml:\d+:\d+: services\.App\.functions\.hello/);
    expect(error.message).not.toContain(data());

    expect(await listed(url)).toEqual(before);
    expect(await call('hello')).toBe('v1');
  });

  test('remove with a call in flight: it finishes; new calls get FunctionNotFound naming the deployment', async () => {
    const url = await startGateway();
    expect((await cli(url, 'deploy', '--template', await writeApp('v1'))).code).toBe(0);
    const inFlight = call('slow', 'hold:sync');
    await expect.poll(() => readdirSync(marks).some((n) => n.startsWith('sync.started.')), { timeout: 20_000 }).toBe(true);
    const removed = await cli(url, 'remove', 'App/slow');
    expect(removed.stdout).toMatch(/removed App\/slow as deployment d2: 1 function\(s\) served/);
    expect(removed.code).toBe(0);
    await expect(call('slow')).rejects.toMatchObject({ code: ErrorCode.FunctionNotFound, message: expect.stringMatching(/App\/slow was removed by deployment d2 \(remove, .*, by /) });
    expect(await call('hello')).toBe('v1');
    await writeFile(join(marks, 'sync.release'), '');
    expect(await inFlight).toBe('v1 released');
  });

  test('--function S/F replaces that function only, and a restart serves the same', async () => {
    let url = await startGateway();
    const file = await writeApp('v1');
    expect((await cli(url, 'deploy', '--template', file)).code).toBe(0);
    // The new code and a changed spec for hello; slow, changed on disk too, must stay as deployed.
    await writeApp('v2', TEMPLATE.replace('codeUri: ./fn\n        timeout: 30\n      slow', 'codeUri: ./fn\n        timeout: 20\n      slow'));
    const one = await cli(url, 'deploy', '--template', file, '--function', 'App/hello');
    expect(one.stdout).toMatch(/as deployment d2: 2 function\(s\)/);
    expect(one.code).toBe(0);
    expect(await call('hello')).toBe('v2');
    expect(await call('slow')).toBe('v1');
    expect((await cli(url, 'deployments', 'list')).stdout).toMatch(/\*d2 .* function App\/hello on d1 /);
    const missing = await cli(url, 'deploy', '--template', file, '--function', 'App/nope');
    expect(missing.code).toBe(2);

    await stopProcess(proc);
    url = await startGateway();
    expect(await call('hello')).toBe('v2');
    expect(await call('slow')).toBe('v1');
    expect((await cli(url, 'deploy', '--rollback', 'd1')).code).toBe(0);
    expect(await call('hello')).toBe('v1');
  });

  test('--keep-deployments N: older deployments and their files go, never the current one, the one before it, nor a base', async () => {
    const url = await startGateway([...START(), '--keep-deployments', '2']);
    const file = await writeApp('v1');
    expect((await cli(url, 'deploy', '--template', file)).code).toBe(0);
    await writeApp('v2');
    expect((await cli(url, 'deploy', '--template', file, '--function', 'App/hello')).code).toBe(0);
    await writeApp('v3');
    expect((await cli(url, 'deploy', '--template', file)).code).toBe(0);
    // d2 is kept (one of the newest two, and the one before the current), and so is d1: d2 builds on it.
    expect((await listed(url)).deployments.map((d) => d.id)).toEqual(['d1', 'd2', 'd3']);
    await writeApp('v4');
    expect((await cli(url, 'deploy', '--template', file)).code).toBe(0);
    expect((await listed(url)).deployments.map((d) => d.id)).toEqual(['d3', 'd4']);
    expect(readdirSync(join(data(), 'deployments')).sort()).toEqual(['CURRENT', 'd3', 'd4']);
    expect(await call('hello')).toBe('v4');
    expect((await cli(url, 'deploy', '--rollback')).code).toBe(0);
    expect(await call('hello')).toBe('v3');
    expect((await listed(url)).deployments.map((d) => [d.id, d.current])).toEqual([['d4', false], ['d5', true]]);
    const gone = await cli(url, 'deploy', '--rollback', 'd1');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no deployment d1/);
    const bad = await runCli(['start', '--keep-deployments', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--keep-deployments must be a whole number from 1/);
    // Seven CLI processes and a gateway: ~14 s alone on 2 cores, more under a loaded machine.
  }, 60_000);
});
