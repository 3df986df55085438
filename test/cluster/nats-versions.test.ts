/**
 * Service versions and aliases kept in the cluster (docs/cluster.md "Versions and aliases",
 * protocol §9.14a): a version published while one gateway runs is served by a gateway started
 * later (which fetches the deployment it names); a redeploy leaves what it serves as it was;
 * publishes through both gateways at once get distinct numbers (compare-and-set); a weighted
 * alias sends calls to both of its versions on both gateways, Async calls too; a version an alias names is not
 * deleted; deployments the history drops keep their bundles while a version names them (a
 * gateway with no copy still serves the version), and so do the bases of a per-function
 * deployment a version names; no device may touch the bucket.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { MqttClient } from 'mqtt';
import { FCClient } from '../../src/index.js';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import { packTemplate } from '../../gateway/deployments/pack-bundle.js';
import type { DeploymentView } from '../../gateway/deployments/deployments.js';
import { stopProcess } from '../fixtures/cli-process.js';
import { settledCode } from '../fixtures/error-code.js';
import { connectAsDevice, startSecuredNatsCluster, writeClusterTemplate, type ClusterGateway, type SecuredNatsCluster } from '../fixtures/nats-cluster.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';
import { waitFor } from '../fixtures/wait.js';

let env: SecuredNatsCluster;
let first: ClusterGateway;
let second: ClusterGateway;
let third: ClusterGateway;
let appCode: string;
const clients: FCClient[] = [];
const admins: AdminClient[] = [];
const raw: MqttClient[] = [];

/** Service App: its function answers its configuration (GREETING), the version it runs as and its gateway's pid. */
function appService(greeting: string): string {
  return `  App:
    functions:
      hello:
        runtime: nodejs20
        handler: index.handler
        codeUri: code/app
        invokers: [devices]
        instanceConcurrency: 8
        environmentVariables:
          GREETING: ${greeting}
`;
}

beforeAll(async () => {
  appCode = await traversableTempDir('edgefc-app-code-');
  await writeFile(
    join(appCode, 'index.js'),
    "exports.handler = (event, context, callback) => callback(null, JSON.stringify({ greeting: process.env.GREETING, version: context.service.versionId, gateway: process.ppid }));\n",
  );
  // Two deployments kept in the cluster's history: older ones are dropped (and their bundles with
  // them, unless a version names them) after two more deploys.
  env = await startSecuredNatsCluster(['sensor-1', 'sensor-2'], ['ops'], { templateExtra: appService('one'), extraCode: { app: appCode }, gatewayArgs: ['--keep-deployments', '2'] });
  first = await env.startGateway();
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(admins.map((admin) => admin.close()));
  await Promise.all(raw.map((client) => client.endAsync(true)));
  await env?.close();
}, 60_000);

function device(name: string, node: number): FCClient {
  const client = new FCClient({ brokerUrl: env.cluster.nodes[node]?.mqttUrl ?? '', username: name, password: env.passwords.get(name) ?? '', timeout: 15_000 });
  clients.push(client);
  return client;
}

function admin(node: number): AdminClient {
  const client = new AdminClient({ brokerUrl: env.cluster.nodes[node]?.mqttUrl ?? '', username: 'ops', password: env.passwords.get('ops') ?? '', timeoutMs: 60_000 });
  admins.push(client);
  return client;
}

interface Answer {
  greeting: string;
  version: string;
  gateway: number;
}

async function hello(client: FCClient, qualifier: string): Promise<Answer> {
  const { payload } = await client.invokeFunction({ serviceName: 'App', functionName: 'hello', qualifier, payload: 'x' });
  return JSON.parse(String(payload)) as Answer;
}

/**
 * Calls App/hello with `qualifier` until every answer in `expected` (`greeting/version@gateway`)
 * has come; every answer must be one of them. The queue group picks a gateway per call.
 */
async function answersAre(client: FCClient, qualifier: string, expected: readonly string[]): Promise<void> {
  const seen = new Set<string>();
  await waitFor(
    async () => {
      const answer = await hello(client, qualifier);
      const key = `${answer.greeting}/${answer.version}@${answer.gateway}`;
      seen.add(key);
      expect(expected, `unexpected answer ${key}`).toContain(key);
      expect([...seen].sort()).toEqual([...expected].sort());
    },
    { timeout: 60_000, interval: 20 },
  );
}

/** `greeting/version` as answered by each gateway. */
function on(gateways: readonly ClusterGateway[], greeting: string, version: string): string[] {
  return gateways.map((g) => `${greeting}/${version}@${g.pid}`);
}

/** Deploy App with `greeting` through the queue group (upload and commit, §9.9); with `only`, that function alone (§9.9.4). */
async function deployGreeting(greeting: string, only?: string): Promise<string> {
  const dir = join(env.dir, `deploy-${greeting}`);
  await mkdir(dir, { recursive: true });
  const template = await writeClusterTemplate(dir, 'template.yml', [], { templateExtra: appService(greeting), extraCode: { app: appCode } });
  const packed = await packTemplate(template);
  const client = admin(0);
  const begun = (await client.call('deploy-begin', { size: packed.bytes.length, sha256: packed.sha256 })) as { uploadId: string; maxChunkBytes: number };
  for (let offset = 0; offset < packed.bytes.length; offset += begun.maxChunkBytes) {
    const chunk = packed.bytes.subarray(offset, offset + begun.maxChunkBytes);
    await client.call('deploy-chunk', { uploadId: begun.uploadId, offset, sha256: createHash('sha256').update(chunk).digest('hex'), data: chunk.toString('base64') });
  }
  const result = (await client.call('deploy-commit', { uploadId: begun.uploadId, ...(only === undefined ? {} : { function: only }) })) as { deployment: string };
  return result.deployment;
}

async function history(): Promise<DeploymentView[]> {
  return ((await admin(1).call('deployments-list')) as { deployments: DeploymentView[] }).deployments;
}

/** How many `operation`s a gateway took, from its audit log (docs/security.md §5). */
async function taken(gateway: ClusterGateway, operation: string): Promise<number> {
  const text = await readFile(join(gateway.dataDir, 'audit.log'), 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.includes(`"operation":"${operation}"`) && line.includes('"outcome":"ok"')).length;
}

describe('versions and aliases kept in the NATS cluster', () => {
  test('a version published on one gateway is served by a gateway started later, and a redeploy does not change it', async () => {
    const published = (await admin(0).call('versions-publish', { service: 'App', description: 'greeting one' })) as { version: Record<string, unknown> };
    expect(published.version).toMatchObject({ versionId: '1', deployment: 'd1', functions: ['hello'], principal: 'ops' });
    // §9.14's VERSION: the cluster's deployment record stays inside.
    expect(Object.keys(published.version).sort()).toEqual(['createdAt', 'deployment', 'description', 'functions', 'principal', 'versionId']);
    expect(await deployGreeting('two')).toBe('d2');
    // Started with the cluster serving d2: it has no copy of d1, and fetches it for version 1.
    second = await env.startGateway();
    expect(second.proc.output()).toMatch(/a version's deployment fetched from the cluster/);
    const client = device('sensor-1', 1);
    await answersAre(client, '1', on([first, second], 'one', '1'));
    await answersAre(client, 'LATEST', on([first, second], 'two', ''));
    const listed = (await admin(2).call('versions-list', { service: 'App' })) as { versions: { versionId: string; deployment: string }[] };
    expect(listed.versions.map((v) => [v.versionId, v.deployment])).toEqual([['1', 'd1']]);
  }, 180_000);

  test('publishes through both gateways at once get distinct numbers (compare-and-set), and every gateway serves each', async () => {
    const published: string[] = [];
    // The queue group picks a gateway per request: rounds until both gateways have published.
    for (let round = 0; round < 4 && ((await taken(first, 'versions-publish')) < 2 || (await taken(second, 'versions-publish')) === 0); round += 1) {
      const replies = await Promise.all([0, 1, 2, 0, 1, 2].map((node) => admin(node).call('versions-publish', { service: 'App', description: `round ${round}` }) as Promise<{ version: { versionId: string; deployment: string } }>));
      for (const reply of replies) {
        expect(reply.version.deployment).toBe('d2');
        published.push(reply.version.versionId);
      }
    }
    expect(await taken(first, 'versions-publish')).toBeGreaterThan(1);
    expect(await taken(second, 'versions-publish')).toBeGreaterThan(0);
    // No number given twice, none lost: 2, 3, … in some order.
    expect([...published].sort((a, b) => Number(a) - Number(b))).toEqual(published.map((_, i) => String(i + 2)));
    const listed = (await admin(1).call('versions-list', { service: 'App' })) as { versions: { versionId: string }[] };
    expect(listed.versions.map((v) => v.versionId)).toEqual(['1', ...published].sort((a, b) => Number(b) - Number(a)));
    const client = device('sensor-2', 2);
    await answersAre(client, published.at(-1) ?? '', on([first, second], 'two', published.at(-1) ?? ''));
  }, 180_000);

  test('a weighted alias sends calls to both of its versions on both gateways; moved, it sends them to one', async () => {
    const created = (await admin(1).call('aliases-create', { service: 'App', aliasName: 'prod', versionId: '1', additionalVersionWeight: { '2': 0.5 } })) as { alias: unknown };
    expect(created.alias).toMatchObject({ aliasName: 'prod', versionId: '1', additionalVersionWeight: { '2': 0.5 } });
    const client = device('sensor-1', 0);
    await answersAre(client, 'prod', [...on([first, second], 'one', '1'), ...on([first, second], 'two', '2')]);
    await admin(2).call('aliases-update', { service: 'App', aliasName: 'prod', additionalVersionWeight: {} });
    // Once both gateways have the update, every call through the alias runs version 1.
    await waitFor(
      async () => {
        const answers = await Promise.all(Array.from({ length: 16 }, () => hello(client, 'prod')));
        expect(new Set(answers.map((a) => `${a.greeting}/${a.version}`))).toEqual(new Set(['one/1']));
        expect(new Set(answers.map((a) => a.gateway))).toEqual(new Set([first.pid, second.pid]));
      },
      { timeout: 30_000, interval: 50 },
    );
    const listed = (await admin(0).call('aliases-list', { service: 'App' })) as { aliases: unknown[] };
    expect(listed.aliases).toMatchObject([{ aliasName: 'prod', versionId: '1', additionalVersionWeight: {} }]);
  }, 120_000);

  test('Async calls through the alias run the version it names, whichever gateway runs them (§3.2a, §10.10)', async () => {
    const client = device('sensor-2', 2);
    const ids = Array.from({ length: 6 }, (_, i) => `versions-async-${i}-${Date.now()}`);
    for (const requestId of ids) await client.invokeFunction({ serviceName: 'App', functionName: 'hello', qualifier: 'prod', invocationType: 'Async', payload: 'x', requestId });
    await waitFor(
      async () => {
        const statuses = await Promise.all(ids.map((id) => client.getAsyncStatus(id)));
        expect(statuses.map((s) => s.state)).toEqual(ids.map(() => 'succeeded'));
        for (const status of statuses) expect(JSON.parse(status.result ?? '{}')).toMatchObject({ greeting: 'one', version: '1' });
      },
      { timeout: 30_000, interval: 200 },
    );
  }, 60_000);

  test('a version an alias names is not deleted, through any gateway; one no alias names is, on every gateway', async () => {
    for (const node of [0, 1, 2, 0]) {
      await expect(admin(node).call('versions-delete', { service: 'App', versionId: '1' })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/used by alias prod/) as string });
    }
    await expect(admin(1).call('versions-delete', { service: 'App', versionId: '2' })).resolves.toMatchObject({ version: { versionId: '2' } });
    const client = device('sensor-2', 1);
    await waitFor(
      async () => {
        const codes = await Promise.all(Array.from({ length: 12 }, () => settledCode(hello(client, '2'))));
        expect(new Set(codes)).toEqual(new Set(['FunctionNotFound']));
      },
      { timeout: 30_000, interval: 50 },
    );
    // Numbers are never given again (§9.14).
    const next = (await admin(2).call('versions-publish', { service: 'App' })) as { version: { versionId: string } };
    expect(Number(next.version.versionId)).toBeGreaterThan(7);
    await answersAre(client, '1', on([first, second], 'one', '1'));
  }, 120_000);

  test('deployments the history drops (deploy, remove) keep their bundles while a version names them: a new gateway serves version 1', async () => {
    expect(await deployGreeting('three')).toBe('d3');
    await expect(admin(2).call('remove', { function: 'Test/secret' })).resolves.toMatchObject({ deployment: 'd4' });
    // --keep-deployments 2: d1 and d2 are out of the cluster's history.
    expect((await history()).map((d) => d.id)).toEqual(['d3', 'd4']);
    // A gateway with no copy of d1 or d2 fetches both bundles from the object store.
    third = await env.startGateway();
    expect(third.proc.output()).toMatch(/a version's deployment fetched from the cluster.*d1/);
    expect(third.proc.output()).not.toMatch(/a kept version cannot be served/);
    const client = device('sensor-1', 2);
    await answersAre(client, '1', on([first, second, third], 'one', '1'));
    await answersAre(client, 'prod', on([first, second, third], 'one', '1'));
    await answersAre(client, '3', on([first, second, third], 'two', '3'));
    await answersAre(client, 'LATEST', on([first, second, third], 'three', ''));
  }, 180_000);

  test('a version of a per-function deployment keeps it and the base it builds on: a gateway with neither serves it', async () => {
    expect(await deployGreeting('five', 'App/hello')).toBe('d5');
    const published = (await admin(0).call('versions-publish', { service: 'App', description: 'per-function' })) as { version: { versionId: string; deployment: string } };
    expect(published.version.deployment).toBe('d5');
    const id = published.version.versionId;
    expect(await deployGreeting('six')).toBe('d6');
    expect(await deployGreeting('seven')).toBe('d7');
    expect((await history()).map((d) => d.id)).toEqual(['d6', 'd7']);
    // One gateway fewer on the 2-CPU box, then one with no copy of d5 or of its base d4.
    await stopProcess(third.proc);
    const fourth = await env.startGateway();
    expect(fourth.proc.output()).toMatch(/a version's deployment fetched from the cluster.*d5/);
    expect(fourth.proc.output()).not.toMatch(/a kept version cannot be served/);
    const client = device('sensor-2', 0);
    await answersAre(client, id, on([first, second, fourth], 'five', id));
    await answersAre(client, '1', on([first, second, fourth], 'one', '1'));
  }, 180_000);

  test('no device may read or write the versions bucket: its subjects are the gateway login\'s only', async () => {
    const intruder = await connectAsDevice(env, 'sensor-1', 'versions');
    raw.push(intruder);
    for (const filter of ['$KV/edgefc-versions/#', '$JS/API/STREAM/INFO/KV_edgefc-versions']) {
      await expect(intruder.subscribeAsync(filter, { qos: 0 }), filter).rejects.toThrow(/Subscribe error/);
    }
    // A qualifier that names nothing is FunctionNotFound on every gateway (§3.2a).
    await expect(device('sensor-2', 0).invokeFunction({ serviceName: 'App', functionName: 'hello', qualifier: 'nope', payload: 'x' })).rejects.toMatchObject({ code: 'FunctionNotFound' });
  });
});
