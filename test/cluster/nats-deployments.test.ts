/**
 * Deployments and the access file kept in the cluster (docs/cluster.md "Deployments",
 * docs/security.md §11): the first gateway seeds the empty cluster with its template and access
 * file; a gateway with another template serves the cluster's; a deploy through any gateway is
 * served by every gateway; two deploys at once: one wins, the other is `DeployConflict`; a
 * per-function deploy is served by every gateway beside the current deployment's other
 * functions, and a gateway started later fetches the base it builds on; a gateway started later,
 * or restarted, serves the cluster's deployment; a device added on one
 * gateway's box may call through every gateway; and no device may touch the buckets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { MqttClient } from 'mqtt';
import { FCClient } from '../../src/index.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import type { Output } from '../../gateway/cli/commands/common.js';
import { runUsers } from '../../gateway/cli/commands/users.js';
import { main } from '../../gateway/cli/edgefc.js';
import { packTemplate } from '../../gateway/deployments/pack-bundle.js';
import type { DeploymentView } from '../../gateway/deployments/deployments.js';
import { runCli, stopProcess } from '../fixtures/cli-process.js';
import { settledCode } from '../fixtures/error-code.js';
import { connectAsDevice, startSecuredNatsCluster, writeClusterTemplate, type ClusterGateway, type SecuredNatsCluster } from '../fixtures/nats-cluster.js';
import { waitFor } from '../fixtures/wait.js';

let env: SecuredNatsCluster;
let first: ClusterGateway;
let second: ClusterGateway;
/** Each gateway's own access file (one per box, as in production), copied from broker-config's. */
const accessFiles: string[] = [];
const clients: FCClient[] = [];
const admins: AdminClient[] = [];
const raw: MqttClient[] = [];

beforeAll(async () => {
  env = await startSecuredNatsCluster(['sensor-1', 'sensor-2'], ['ops']);
  for (const n of [1, 2, 3]) {
    const file = join(env.dir, `access-${n}.yml`);
    await copyFile(join(env.dataDir, 'access.yml'), file);
    await chmod(file, 0o600);
    accessFiles.push(file);
  }
  first = await env.startGateway({ access: accessFile(0) });
  // Its own template has Test/own, which the cluster's deployment (the first gateway's) has not.
  second = await env.startGateway({ template: await writeClusterTemplate(env.dir, 'own.yml', ['own']), access: accessFile(1) });
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(admins.map((admin) => admin.close()));
  await Promise.all(raw.map((client) => client.endAsync(true)));
  await env?.close();
}, 60_000);

function accessFile(index: number): string {
  return accessFiles[index] ?? '';
}

function device(name: string, node: number, password?: string): FCClient {
  const client = new FCClient({ brokerUrl: env.cluster.nodes[node]?.mqttUrl ?? '', username: name, password: password ?? env.passwords.get(name) ?? '', timeout: 15_000 });
  clients.push(client);
  return client;
}

function admin(node: number): AdminClient {
  const client = new AdminClient({ brokerUrl: env.cluster.nodes[node]?.mqttUrl ?? '', username: 'ops', password: env.passwords.get('ops') ?? '', timeoutMs: 60_000 });
  admins.push(client);
  return client;
}

async function callPid(client: FCClient, functionName: string): Promise<number> {
  const { payload } = await client.invokeFunction({ serviceName: 'Test', functionName, payload: 'x' });
  return Number(String(payload));
}

/** Calls S/F until every gateway in `pids` has answered it (the queue group picks one per call). */
async function answeredByAll(client: FCClient, functionName: string, pids: readonly number[]): Promise<void> {
  const seen = new Set<number>();
  await waitFor(
    async () => {
      const pid = await callPid(client, functionName).catch(() => 0);
      if (pid > 0) seen.add(pid);
      expect([...seen].sort()).toEqual([...pids].sort());
    },
    { timeout: 60_000, interval: 20 },
  );
}

async function deployCli(template: string, node: number): Promise<{ code: number; output: string }> {
  const result = await runCli(['deploy', '--template', template, '--broker', env.cluster.nodes[node]?.mqttUrl ?? '', '--username', 'ops'], 90_000, { EDGEFC_PASSWORD: env.passwords.get('ops') ?? '' });
  return { code: result.code ?? -1, output: result.stdout + result.stderr };
}

/** Upload a bundle (§9.9.2–§9.9.3) without committing it. */
async function upload(client: AdminClient, template: string): Promise<string> {
  const packed = await packTemplate(template);
  const begun = (await client.call('deploy-begin', { size: packed.bytes.length, sha256: packed.sha256 })) as { uploadId: string; maxChunkBytes: number };
  for (let offset = 0; offset < packed.bytes.length; offset += begun.maxChunkBytes) {
    const chunk = packed.bytes.subarray(offset, offset + begun.maxChunkBytes);
    await client.call('deploy-chunk', { uploadId: begun.uploadId, offset, sha256: createHash('sha256').update(chunk).digest('hex'), data: chunk.toString('base64') });
  }
  return begun.uploadId;
}

async function history(): Promise<DeploymentView[]> {
  return ((await admin(0).call('deployments-list')) as { deployments: DeploymentView[] }).deployments;
}

describe('deployments kept in the NATS cluster', () => {
  test('the first gateway seeded the cluster; the second serves the cluster\'s deployment, not its own --template', async () => {
    expect(first.proc.output()).toMatch(/the cluster had no deployment: --template is its first/);
    expect(first.proc.output()).toMatch(/the cluster had no access file: this gateway's is its first/);
    // Three nodes in a cluster: the buckets were made R3.
    expect(first.proc.output()).toMatch(/cluster state ready.*replicas[=:" ]+3/);
    expect(second.proc.output()).toMatch(/the cluster already serves a deployment: it serves here too, --template is not deployed/);
    const client = device('sensor-1', 0);
    await answeredByAll(client, 'pid', [first.pid, second.pid]);
    // Test/own is in the second gateway's file only: no gateway serves it.
    const codes = await Promise.all(Array.from({ length: 12 }, () => settledCode(callPid(client, 'own'))));
    expect(new Set(codes)).toEqual(new Set(['FunctionNotFound']));
    expect((await history()).map((d) => [d.id, d.source, d.current])).toEqual([['d1', 'path', true]]);
  }, 90_000);

  test('a device added on one gateway\'s box (edgefc users add) is in every gateway\'s access file, and may call through every gateway', async () => {
    const password = randomBytes(18).toString('base64url');
    const lines: string[] = [];
    const output: Output = { out: (text) => lines.push(text), err: (text) => lines.push(text) };
    const added = await runUsers(['add', 'sensor-9', '--role', 'device', '--nats', '--access', accessFile(0)], output, { stdin: Readable.from([`${password}\n`]), prompt: () => undefined });
    expect(added, lines.join('')).toBe(0);
    // The second gateway's own file takes the cluster's copy, private as ever.
    await waitFor(async () => expect(await readFile(accessFile(1), 'utf8')).toMatch(/sensor-9/), { timeout: 30_000, interval: 50 });
    expect((await stat(accessFile(1))).mode & 0o777).toBe(0o600);
    await second.proc.waitForOutput(/access file taken from the cluster/, 10_000);
    // nats-server's logins stay the operator's to regenerate and reload on every node.
    const out = join(env.dir, 'nats-2');
    expect(await main(['broker-config', 'nats', '--out', out, '--data', env.dataDir, '--access', accessFile(0), '--template', env.templatePath], output), lines.join('')).toBe(0);
    await env.cluster.reloadAuthorization(await readFile(join(out, 'authorization.conf'), 'utf8'));
    await waitFor(
      async () => {
        const probe = await connectMqtt(env.cluster.nodes[1]?.mqttUrl ?? '', { clientId: 'sensor-9_probe', username: 'sensor-9', password, protocolVersion: 4, connectTimeoutMs: 3_000 });
        await probe.endAsync(true);
      },
      { timeout: 30_000, interval: 200 },
    );
    // The second gateway never had sensor-9 in the file it started with: only the cluster's copy lets it answer.
    const client = device('sensor-9', 1, password);
    await answeredByAll(client, 'pid', [first.pid, second.pid]);
    const codes = await Promise.all(Array.from({ length: 12 }, () => settledCode(callPid(client, 'pid'))));
    expect(new Set(codes)).toEqual(new Set(['ok']));
  }, 120_000);

  test('edgefc deploy through one gateway: every gateway serves the new function, and deployments list shows the cluster\'s history', async () => {
    const template = await writeClusterTemplate(env.dir, 'added.yml', ['added']);
    const { code, output } = await deployCli(template, 1);
    expect(code, output).toBe(0);
    expect(output).toMatch(/as deployment d2/);
    await answeredByAll(device('sensor-2', 2), 'added', [first.pid, second.pid]);
    const list = await history();
    expect(list.map((d) => [d.id, d.current])).toEqual([
      ['d1', false],
      ['d2', true],
    ]);
    expect(list[1]?.functions).toContain('Test/added');
  }, 120_000);

  test('two deploys at once: one moves the cluster\'s deployment, the other is DeployConflict and applied nowhere', async () => {
    const [ca, cb] = [admin(0), admin(1)];
    const client = device('sensor-1', 1);
    let conflicts = 0;
    // Both commits read key `current`, check their bundle, then compare-and-set: mostly both read
    // the same revision and one loses. On a loaded box one may finish before the other reads (seen
    // once in CI simulation): both are then deployed, one after the other, none lost, and the race
    // is run again.
    for (let round = 0; round < 4 && conflicts === 0; round += 1) {
      const before = (await history()).length;
      const a = await writeClusterTemplate(env.dir, `race-a${round}.yml`, ['added', `raceA${round}`]);
      const b = await writeClusterTemplate(env.dir, `race-b${round}.yml`, ['added', `raceB${round}`]);
      const [ua, ub] = await Promise.all([upload(ca, a), upload(cb, b)]);
      const outcomes = await Promise.all([settledCode(ca.call('deploy-commit', { uploadId: ua })), settledCode(cb.call('deploy-commit', { uploadId: ub }))]);
      const after = await history();
      if (!outcomes.includes('DeployConflict')) {
        expect(outcomes).toEqual(['ok', 'ok']);
        expect(after.length).toBe(before + 2);
        continue;
      }
      conflicts += 1;
      expect([...outcomes].sort()).toEqual(['DeployConflict', 'ok']);
      expect(after.length).toBe(before + 1);
      const winner = outcomes[0] === 'ok' ? `raceA${round}` : `raceB${round}`;
      const loser = outcomes[0] === 'ok' ? `raceB${round}` : `raceA${round}`;
      await answeredByAll(client, winner, [first.pid, second.pid]);
      const codes = await Promise.all(Array.from({ length: 12 }, () => settledCode(callPid(client, loser))));
      expect(new Set(codes)).toEqual(new Set(['FunctionNotFound']));
    }
    expect(conflicts).toBe(1);
  }, 240_000);

  test('a per-function deploy (--function S/F) through one gateway: every gateway serves the new function beside the current deployment\'s others', async () => {
    const before = await history();
    const base = before.find((d) => d.current);
    // The race's winner is in the current deployment only, not in the uploaded template: a whole deploy would drop it.
    const kept = base?.functions.find((name) => name.startsWith('Test/race'))?.slice('Test/'.length) ?? '';
    expect(kept).not.toBe('');
    const template = await writeClusterTemplate(join(env.dir, 'fresh'), 'fresh.yml', ['fresh']);
    const result = await runCli(['deploy', '--template', template, '--function', 'Test/fresh', '--broker', env.cluster.nodes[0]?.mqttUrl ?? '', '--username', 'ops'], 60_000, { EDGEFC_PASSWORD: env.passwords.get('ops') ?? '' });
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(0);
    const client = device('sensor-2', 1);
    await answeredByAll(client, 'fresh', [first.pid, second.pid]);
    await answeredByAll(client, kept, [first.pid, second.pid]);
    const current = (await history()).find((d) => d.current);
    expect(current).toMatchObject({ id: `d${before.length + 1}`, source: 'function', only: 'Test/fresh', base: base?.id });
    expect(current?.functions).toEqual([...(base?.functions ?? []), 'Test/fresh']);
    // A function the upload does not hold is refused by the gateway (the CLI checks it first too), and nothing moves.
    const client1 = admin(1);
    expect(await settledCode(client1.call('deploy-commit', { uploadId: await upload(client1, template), function: 'Test/nope' }))).toBe('FunctionNotFound');
    expect((await history()).length).toBe(before.length + 1);
  }, 120_000);

  test('rollback and remove through any gateway are deploys to all', async () => {
    const client = device('sensor-2', 0);
    const before = await history();
    const served = before.find((d) => d.current)?.id;
    await expect(admin(2).call('remove', { function: 'Test/added' })).resolves.toMatchObject({ deployment: `d${before.length + 1}` });
    await waitFor(async () => {
      const codes = await Promise.all(Array.from({ length: 8 }, () => settledCode(callPid(client, 'added'))));
      expect(new Set(codes)).toEqual(new Set(['FunctionNotFound']));
    }, { timeout: 30_000, interval: 50 });
    await expect(admin(1).call('deploy-rollback', {})).resolves.toMatchObject({ deployment: `d${before.length + 2}` });
    await answeredByAll(client, 'added', [first.pid, second.pid]);
    const current = (await history()).find((d) => d.current);
    expect(current).toMatchObject({ id: `d${before.length + 2}`, source: 'rollback', from: served });
  }, 120_000);

  test('a gateway started later serves the cluster\'s deployment before it takes calls; a restarted one keeps it', async () => {
    // The fixture's template has no Test/added; the cluster's deployment (the rollback to the
    // per-function deploy) has, from the base it builds on, which the new gateway fetches too.
    const current = (await history()).find((d) => d.current);
    expect(current).toMatchObject({ source: 'rollback', only: 'Test/fresh' });
    const third = await env.startGateway({ access: accessFile(2) });
    expect(third.proc.output()).toMatch(/serving the cluster's deployment/);
    await answeredByAll(device('sensor-2', 0), 'fresh', [first.pid, second.pid, third.pid]);
    const client = device('sensor-1', 2);
    await answeredByAll(client, 'added', [first.pid, second.pid, third.pid]);
    // Restarted in its data directory, with its own template again: the cluster's deployment still serves.
    await stopProcess(second.proc);
    const again = await env.startGateway({ dataDir: second.dataDir, template: await writeClusterTemplate(env.dir, 'own.yml', ['own']), access: accessFile(1) });
    expect(again.proc.output()).toMatch(/serving the cluster's deployment, kept here already/);
    await answeredByAll(client, 'added', [first.pid, third.pid, again.pid]);
  }, 180_000);

  test('a trigger topic NATS cannot carry is refused at deploy (InvalidArgument naming the field), and nothing moves', async () => {
    const dir = `${env.dir}/bad-trigger`;
    const template = await writeClusterTemplate(dir, 'template.yml');
    const { readFile, writeFile } = await import('node:fs/promises');
    const text = await readFile(template, 'utf8');
    await writeFile(template, text.replace('      secret:\n', '      secret:\n        triggers:\n          - topic: factory/line.3/temp\n'));
    const before = await history();
    const { code, output } = await deployCli(template, 0);
    expect(code, output).toBe(1);
    expect(output).toMatch(/InvalidArgument/);
    expect(output).toMatch(/services\.Test\.functions\.secret\.triggers\[0\]\.topic/);
    expect(await history()).toEqual(before);
  }, 90_000);

  test('no device may read or write the buckets: their subjects are the gateway login\'s only', async () => {
    const intruder = await connectAsDevice(env, 'sensor-1', 'buckets');
    raw.push(intruder);
    for (const filter of ['$KV/edgefc-deployments/#', '$O/edgefc-bundles/#', '$KV/edgefc-uploads/#', '$KV/edgefc-access/#', '$JS/API/#', '$JS/#']) {
      await expect(intruder.subscribeAsync(filter, { qos: 0 }), filter).rejects.toThrow(/Subscribe error/);
    }
  });
});
