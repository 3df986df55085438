/**
 * Versions and aliases end to end (docs/protocol.md §3.2a, §9.14, §9.15): an operator deploys,
 * publishes, deploys again, and calls each version and alias through the SDK and the CLI; the
 * function sees the qualifier and version it runs as; an alias moves and splits its calls; a
 * version an alias uses cannot be deleted; everything survives kill -9 and old deployments being
 * pruned. Real gateway processes, the real CLI.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ErrorCode, FCClient } from '../../src/index.js';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import { operatorLogin, runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

let gatewayDir: string;
let appDir: string;
let proc: CliProcess | undefined;
let client: FCClient | undefined;

beforeEach(async () => {
  gatewayDir = await traversableTempDir('edgefc-gw-');
  appDir = await traversableTempDir('edgefc-app-');
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
        environmentVariables:
          GREETING: GREETING_VALUE
`;

/** Answers its code's name, its configuration and what the context says it runs as. */
async function writeApp(name: string, greeting: string): Promise<string> {
  await mkdir(join(appDir, 'fn'), { recursive: true });
  await writeFile(join(appDir, 'template.yml'), TEMPLATE.replace('GREETING_VALUE', greeting));
  await writeFile(
    join(appDir, 'fn/index.js'),
    `exports.handler = (event, context, callback) => callback(null, [${JSON.stringify(name)}, process.env.GREETING, context.service.qualifier, context.service.versionId].join(' '));\n`,
  );
  return join(appDir, 'template.yml');
}

const data = (): string => join(gatewayDir, 'data');

async function startGateway(extra: string[] = []): Promise<string> {
  proc = startCliProcess(['start', '--port', '0', '--data', data(), '--skip-demo', ...extra]);
  await proc.waitForOutput(/ready on (mqtt:\/\/\S+)/);
  const url = /ready on (mqtt:\/\/\S+)/.exec(proc.output())?.[1] ?? '';
  await client?.close();
  client = new FCClient({ brokerUrl: url, timeout: 20_000, ...(await operatorLogin(data())) });
  return url;
}

function cli(url: string, ...args: string[]): ReturnType<typeof runCli> {
  return runCli([...args, '--broker', url, '--credentials', join(data(), 'operator.credentials')], 60_000);
}

async function call(qualifier?: string): Promise<string> {
  const { payload } = await (client as FCClient).invokeFunction({ serviceName: 'App', functionName: 'hello', ...(qualifier === undefined ? {} : { qualifier }) });
  return String(payload);
}

async function deploy(url: string, name: string, greeting: string): Promise<void> {
  const deployed = await cli(url, 'deploy', '--template', await writeApp(name, greeting));
  expect(deployed.code, deployed.stderr).toBe(0);
}

describe('edgefc versions and aliases', () => {
  test('publish freezes code and configuration; versions and aliases route calls, survive kill -9 and pruning', async () => {
    // Keep one deployment only: the versions' deployments must be kept anyway.
    let url = await startGateway(['--keep-deployments', '1']);
    await deploy(url, 'one', 'hi');
    const published = await cli(url, 'versions', 'publish', 'App', '--description', 'first', '--json');
    expect(published.code, published.stderr).toBe(0);
    expect(JSON.parse(published.stdout)).toMatchObject({ version: { versionId: '1', description: 'first', functions: ['hello'] } });

    await deploy(url, 'two', 'hello');
    // LATEST is what is served now; version 1 what was served when it was published.
    expect(await call()).toBe('two hello LATEST ');
    expect(await call('LATEST')).toBe('two hello LATEST ');
    expect(await call('1')).toBe('one hi 1 1');
    expect((await cli(url, 'versions', 'publish', 'App')).stdout).toMatch(/published version 2 of App/);
    await deploy(url, 'three', 'hey');
    expect(await call('2')).toBe('two hello 2 2');

    // An alias names a version; the function sees the alias as its qualifier and the version it runs.
    const created = await cli(url, 'aliases', 'create', 'App', 'prod', '--version', '1', '--description', 'stable');
    expect(created.code, created.stderr).toBe(0);
    expect(await call('prod')).toBe('one hi prod 1');
    const viaCli = await cli(url, 'invoke', 'App/hello', '--qualifier', 'prod');
    expect(viaCli.stdout).toBe('one hi prod 1\n');

    // A qualifier that names nothing: FunctionNotFound, naming what there is.
    const missing = (client as FCClient).invokeFunction({ serviceName: 'App', functionName: 'hello', qualifier: 'staging' });
    await expect(missing).rejects.toMatchObject({ code: ErrorCode.FunctionNotFound, message: expect.stringMatching(/versions: 1, 2; aliases: prod/) as unknown });
    await expect((client as FCClient).invokeFunction({ serviceName: 'App', functionName: 'hello', qualifier: '9' })).rejects.toMatchObject({ code: ErrorCode.FunctionNotFound });

    // Canary: every call to version 2, then half of them.
    expect((await cli(url, 'aliases', 'update', 'App', 'prod', '--weight', '2=1')).code).toBe(0);
    expect(await call('prod')).toBe('two hello prod 2');
    expect((await cli(url, 'aliases', 'update', 'App', 'prod', '--weight', '2=0.5')).code).toBe(0);
    const seen = new Set<string>();
    // 64 calls all on one side at 0.5: 2^-63.
    for (let i = 0; i < 64 && seen.size < 2; i += 1) seen.add(await call('prod'));
    expect([...seen].sort()).toEqual(['one hi prod 1', 'two hello prod 2']);
    const listed = JSON.parse((await cli(url, 'aliases', 'list', 'App', '--json')).stdout) as { aliases: { aliasName: string; versionId: string; additionalVersionWeight: Record<string, number> }[] };
    expect(listed.aliases).toMatchObject([{ aliasName: 'prod', versionId: '1', additionalVersionWeight: { '2': 0.5 }, description: 'stable' }]);

    // A version an alias uses is not deleted.
    const refused = await cli(url, 'versions', 'delete', 'App', '2', '--json');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'InvalidArgument', message: expect.stringMatching(/used by alias prod/) as unknown } });
    expect((await cli(url, 'aliases', 'update', 'App', 'prod', '--no-weight')).code).toBe(0);

    // An Async call's record keeps the qualifier it named.
    const { requestId } = await (client as FCClient).invokeFunction({ serviceName: 'App', functionName: 'hello', invocationType: 'Async', qualifier: 'prod' });
    await expect
      .poll(async () => JSON.parse((await cli(url, 'invocations', 'get', requestId, '--json')).stdout) as { invocations: { state: string; qualifier: string; result?: string }[] }, { timeout: 20_000 })
      .toMatchObject({ invocations: [{ state: 'succeeded', qualifier: 'prod', result: 'one hi prod 1' }] });

    // A stored Async call follows its alias when it runs (§3.2a): accepted while prod is version 1,
    // run after prod moved to version 2. The move goes over one admin request, well inside the delay.
    const delayed = await (client as FCClient).invokeFunction({ serviceName: 'App', functionName: 'hello', invocationType: 'Async', qualifier: 'prod', asyncDelay: 5 });
    const admin = new AdminClient({ brokerUrl: url, timeoutMs: 20_000, ...(await operatorLogin(data())) });
    try {
      await admin.call('aliases-update', { service: 'App', aliasName: 'prod', versionId: '2' });
      await expect
        .poll(async () => JSON.parse((await cli(url, 'invocations', 'get', delayed.requestId, '--json')).stdout) as unknown, { timeout: 20_000 })
        .toMatchObject({ invocations: [{ state: 'succeeded', qualifier: 'prod', result: 'two hello prod 2' }] });
      await admin.call('aliases-update', { service: 'App', aliasName: 'prod', versionId: '1' });
    } finally {
      await admin.close();
    }

    // kill -9: versions and aliases are in the data directory, and their deployments were kept.
    process.kill(-(proc?.child.pid ?? 0), 'SIGKILL');
    await stopProcess(proc);
    url = await startGateway(['--keep-deployments', '1']);
    expect(await call()).toBe('three hey LATEST ');
    expect(await call('1')).toBe('one hi 1 1');
    expect(await call('prod')).toBe('one hi prod 1');
    const versions = JSON.parse((await cli(url, 'versions', 'list', 'App', '--json')).stdout) as { versions: { versionId: string }[] };
    expect(versions.versions.map((v) => v.versionId)).toEqual(['2', '1']);

    // Deleted: gone, and its number is never given again.
    expect((await cli(url, 'versions', 'delete', 'App', '2')).code).toBe(0);
    await expect((client as FCClient).invokeFunction({ serviceName: 'App', functionName: 'hello', qualifier: '2' })).rejects.toMatchObject({ code: ErrorCode.FunctionNotFound });
    expect((await cli(url, 'versions', 'publish', 'App')).stdout).toMatch(/published version 3 of App/);
    expect((await cli(url, 'aliases', 'delete', 'App', 'prod')).code).toBe(0);
    expect((await cli(url, 'aliases', 'list', 'App')).stdout).toMatch(/no aliases in App yet/);
    // Operators' admin operations, audited as every one (docs/security.md §5).
    const audit = await readFile(join(data(), 'audit.log'), 'utf8');
    for (const operation of ['versions-publish', 'versions-delete', 'aliases-create', 'aliases-update', 'aliases-delete']) expect(audit).toContain(`"operation":"${operation}"`);
  }, 120_000);

  test('a gateway started with --template F publishes F as served (README); a malformed --qualifier is a usage error', async () => {
    const file = await writeApp('one', 'hi');
    const url = await startGateway(['--template', file]);
    expect((await cli(url, 'versions', 'publish', 'App')).code).toBe(0);
    expect(await call('1')).toBe('one hi 1 1');
    const bad = await cli(url, 'invoke', 'App/hello', '--qualifier', 'a b');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--qualifier must be/);
  });
});
