/**
 * Instance lifecycle on a whole gateway (docs/lifecycle.md): idle instances reaped with their
 * pre-stop hook, and redeploys (`edgefc deploy`, SIGHUP to `edgefc start`) that switch new
 * calls to new code while calls in flight finish on the old; a bad template is refused and the
 * old one keeps serving. Real processes, real files, the real CLI.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ErrorCode, FCClient } from '../../src/index.js';
import { processExists } from '../../gateway/runtime/process/process-tree.js';
import { operatorLogin, runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { functionWritableDir, functionWritableFile, traversableTempDir } from '../fixtures/temp-dirs.js';

const HERE = resolve(fileURLToPath(import.meta.url), '..');
// The web entry point requires ../ops.js: codeUri is their common directory, since only codeUri
// is the function (staged alone when functions run as their own users, as FC uploads it alone).
const RUNTIMES = resolve(HERE, '../fixtures/runtimes');

let dir: string;
beforeEach(async () => {
  // Functions record their runs in STATE_DIR (this directory), as their own users.
  dir = await functionWritableDir(await traversableTempDir('edgefc-life-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function template(version: 'v1' | 'v2', extra = ''): string {
  return `edgefc: 1
services:
  Life:
    functions:
      fn:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${JSON.stringify(join(HERE, 'functions', version))}
        maxInstances: 2
        timeout: 10
${extra}`;
}

async function call(client: FCClient, payload = ''): Promise<string> {
  const { payload: result } = await client.invokeFunction({ serviceName: 'Life', functionName: 'fn', payload });
  return String(result);
}

describe('idle instances', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('are stopped after idleTimeout, pre-stop first; the next call starts a fresh one', async () => {
    const file = join(dir, 'template.yml');
    // Both hooks append their pid here; each function runs as its own user.
    await functionWritableFile(join(dir, 'prestop'));
    await writeFile(
      file,
      `${template('v1', '        instanceLifecycleConfig:\n          idleTimeout: 1\n')}      web:
        runtime: custom
        handler: index.handler
        codeUri: ${JSON.stringify(RUNTIMES)}
        customRuntimeConfig:
          command: ['./web/bootstrap']
        environmentVariables:
          STATE_DIR: ${JSON.stringify(dir)}
        instanceLifecycleConfig:
          idleTimeout: 1
          preStop:
            handler: index.preStop
            timeout: 2
      api:
        runtime: go1
        handler: api/handler
        codeUri: ${JSON.stringify(RUNTIMES)}
        environmentVariables:
          STATE_DIR: ${JSON.stringify(dir)}
        instanceLifecycleConfig:
          idleTimeout: 1
          preStop:
            handler: preStop
            timeout: 2
`,
    );
    gw = await startTestGateway({ templatePath: file });
    const client = gw.client();
    const pid = Number((await call(client)).split(' ')[1]);
    const web = await client.invokeFunction({ serviceName: 'Life', functionName: 'web', payload: JSON.stringify({ op: 'pid' }) });
    const webPid = Number(web.payload);
    // go1: the pre-stop invocation is function type 2, as fc-runtime-go-sdk numbers it; the
    // stand-in records it, and would record (and panic on) a pre-freeze, type 3.
    const api = await client.invokeFunction({ serviceName: 'Life', functionName: 'api', payload: JSON.stringify({ op: 'pid' }) });
    const apiPid = Number(api.payload);
    const instances = (): number[] => (gw?.gateway.stats() ?? []).map((s) => s.instances);
    expect(instances()).toEqual([1, 1, 1]);
    // idleTimeout 1 s, checked every 250 ms: gone within ~1.25 s.
    await expect.poll(instances, { timeout: 5_000, interval: 50 }).toEqual([0, 0, 0]);
    // The hooks ran before the stop: each process recorded its own pid (appended: poll for the writes).
    const recorded = (): string[] => readFileSync(join(dir, 'prestop'), 'utf8').trim().split('\n').sort();
    await expect.poll(recorded).toEqual([String(webPid), String(apiPid)].sort());
    expect(existsSync(join(dir, 'prefreeze'))).toBe(false);
    await expect.poll(() => processExists(pid) || processExists(webPid) || processExists(apiPid)).toBe(false);
    const again = Number((await call(client)).split(' ')[1]);
    expect(again).not.toBe(pid);
  });
});

describe('redeploy', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('edgefc deploy: new calls get the new code, a call in flight finishes on the old; the old instance then stops', async () => {
    const file = join(dir, 'template.yml');
    await writeFile(file, template('v1'));
    gw = await startTestGateway({ templatePath: file });
    const client = gw.client();
    const release = join(dir, 'release');
    const oldPid = Number((await call(client)).split(' ')[1]);
    const inFlight = call(client, `hold:${release}`);
    await expect.poll(() => gw?.gateway.stats()[0]?.running).toBe(1);

    const next = join(dir, 'next.yml');
    await writeFile(next, template('v2'));
    // A template on the gateway's machine, read there (§9.7); uploads are test/e2e/deploy.test.ts.
    const deployed = await runCli(['deploy', '--on-gateway', next, '--broker', gw.url]);
    expect(deployed.stderr).toBe('');
    expect(deployed.stdout).toContain(`deployed ${next}: 1 function(s); 1 previous pool(s)`);
    expect(deployed.code).toBe(0);

    expect((await call(client)).startsWith('v2 ')).toBe(true);
    // The old call is still running on the old code; released, it answers from there.
    await writeFile(release, '');
    expect(await inFlight).toBe(`v1 ${oldPid}`);
    await expect.poll(() => processExists(oldPid), { timeout: 5_000 }).toBe(false);
    expect(gw.gateway.registry.templatePath).toBe(next);
  });

  test('a bad template is refused with its file and field; the old one keeps serving', async () => {
    const file = join(dir, 'template.yml');
    await writeFile(file, template('v1'));
    gw = await startTestGateway({ templatePath: file });
    const client = gw.client();
    expect((await call(client)).startsWith('v1 ')).toBe(true);

    await writeFile(file, template('v2').replace('timeout: 10', 'timeout: forever'));
    const refused = await runCli(['deploy', '--broker', gw.url, '--json']);
    expect(refused.code).toBe(1);
    const { error } = JSON.parse(refused.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    expect(error.message).toMatch(/template\.yml:\d+:\d+: services\.Life\.functions\.fn\.timeout: must be an integer number of seconds/);
    expect((await call(client)).startsWith('v1 ')).toBe(true);
    await expect(gw.gateway.redeploy(join(dir, 'missing.yml'))).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    expect(gw.gateway.registry.templatePath).toBe(file);
  });
});

describe('SIGHUP', () => {
  let proc: CliProcess | undefined;
  afterEach(async () => {
    await stopProcess(proc);
    proc = undefined;
  });

  test('edgefc start reloads its template on SIGHUP', async () => {
    const file = join(dir, 'template.yml');
    await writeFile(file, template('v1'));
    proc = startCliProcess(['start', '--template', file, '--port', '0', '--data', join(dir, 'data'), '--skip-demo']);
    await proc.waitForOutput(/ready on (mqtt:\/\/\S+)/);
    const url = /ready on (mqtt:\/\/\S+)/.exec(proc.output())?.[1] ?? '';
    const client = new FCClient({ brokerUrl: url, timeout: 5000, ...(await operatorLogin(join(dir, 'data'))) });
    try {
      expect((await call(client)).startsWith('v1 ')).toBe(true);
      await writeFile(file, template('v2'));
      process.kill(proc.child.pid ?? 0, 'SIGHUP');
      await proc.waitForOutput(/SIGHUP: redeployed/);
      expect((await call(client)).startsWith('v2 ')).toBe(true);
    } finally {
      await client.close();
    }
  });
});
