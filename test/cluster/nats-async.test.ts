/**
 * Durable Async calls on a secured three-node NATS cluster (docs/cluster.md "Async calls"): two
 * gateways (`edgefc gateway --nats`) share the JetStream stream's one consumer, records live in
 * the replicated KV bucket. Accepted calls run once, any gateway answers a status query, a
 * re-sent request ID is accepted once and run once, a failing call is retried with a growing
 * retryCount, a waiting call is cancelled and a running one stopped by an operator; and no
 * accepted call is lost while the stream's leader node and the gateway on it are killed (-9).
 *
 * The record function (test/async/functions/record) appends one JSON line per run to a file:
 * the durable proof of every execution, read by the test.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { decodeCallMessage } from '../../gateway/async/jetstream/call-message.js';
import { ASYNC_STREAM } from '../../gateway/async/jetstream/names.js';
import { readGatewayLogin } from '../../gateway/security/gateway-secrets.js';
import { FCClient } from '../../src/index.js';
import { RECORD_CODE, type Run } from '../async/async-env.js';
import { runCli } from '../fixtures/cli-process.js';
import { settledCode } from '../fixtures/error-code.js';
import { connectAsDevice, startSecuredNatsCluster, type ClusterGateway, type SecuredNatsCluster } from '../fixtures/nats-cluster.js';
import { functionWritableDir, functionWritableFile, traversableTempDir } from '../fixtures/temp-dirs.js';
import { waitFor } from '../fixtures/wait.js';

/** Seconds before a call held by a dead gateway goes to another (`--nats-ack-wait`; default 30). */
const ACK_WAIT_S = 3;
/** Seconds between each gateway's lost-call checks (`--nats-lost-check`; default 120). */
const LOST_CHECK_S = 5;

let env: SecuredNatsCluster;
let recordFile: string;
let gateways: ClusterGateway[] = [];
const clients: FCClient[] = [];

beforeAll(async () => {
  const dir = await functionWritableDir(await traversableTempDir('edgefc-nats-async-'));
  recordFile = await functionWritableFile(join(dir, 'runs.jsonl'));
  const fn = (extra: string): string =>
    `        runtime: nodejs20\n        handler: index.handler\n        codeUri: code/record\n        invokers: [devices]\n        environmentVariables:\n          RECORD_FILE: ${JSON.stringify(recordFile)}\n${extra}`;
  const templateExtra = `  Async:
    functions:
      record:
${fn(`        maxInstances: 2
        instanceConcurrency: 8
        timeout: 60
        asyncConfiguration:
          maxAsyncRetryAttempts: 2
          maxAsyncQueueLength: 50000
`)}      limited:
${fn(`        asyncConfiguration:
          maxAsyncQueueLength: 3
`)}`;
  env = await startSecuredNatsCluster(['sensor-1', 'sensor-2', 'sensor-3'], ['ops'], { templateExtra, extraCode: { record: RECORD_CODE }, gatewayArgs: ['--nats-ack-wait', String(ACK_WAIT_S), '--nats-lost-check', String(LOST_CHECK_S)] });
  gateways = [await env.startGateway(), await env.startGateway()];
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await env?.close();
}, 60_000);

function device(name: string, node: number, timeout = 10_000): FCClient {
  // connectTimeout 20 s: nats-server's MQTT listener took over 5 s to CONNACK with the whole suite on 2 cores.
  const client = new FCClient({ brokerUrl: env.cluster.nodes[node]?.mqttUrl ?? '', username: name, password: env.passwords.get(name) ?? '', timeout, connectTimeout: 20_000 });
  clients.push(client);
  return client;
}

function runs(): Run[] {
  return existsSync(recordFile) ? readFileSync(recordFile, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Run) : [];
}

function runsById(): Map<string, Run[]> {
  const byId = new Map<string, Run[]>();
  for (const run of runs()) byId.set(run.requestId, [...(byId.get(run.requestId) ?? []), run]);
  return byId;
}

function invokeAsync(client: FCClient, requestId: string, payload: string, asyncDelay?: number): Promise<unknown> {
  return client.invokeFunction({ serviceName: 'Async', functionName: 'record', invocationType: 'Async', payload, requestId, ...(asyncDelay === undefined ? {} : { asyncDelay }) });
}

/** `edgefc invocations …` as the operator `ops`, through node 0's MQTT listener. */
async function invocations(...args: string[]): Promise<{ code: number | null; json: unknown; output: string }> {
  const result = await runCli(['invocations', ...args, '--json', '--broker', env.cluster.nodes[0]?.mqttUrl ?? '', '--username', 'ops'], 30_000, { EDGEFC_PASSWORD: env.passwords.get('ops') ?? '' });
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = undefined;
  }
  return { code: result.code, json, output: result.stdout + result.stderr };
}

describe('Async calls on a NATS cluster (JetStream)', () => {
  test('accepted calls from devices on every node run exactly once across the two gateways; any gateway answers their status', async () => {
    const devices = ['sensor-1', 'sensor-2', 'sensor-3'].map((name, node) => device(name, node));
    const ids = devices.flatMap((_, d) => Array.from({ length: 20 }, (__, i) => `once-${d}-${i}`));
    await Promise.all(ids.map((id, i) => invokeAsync(devices[i % 3] as FCClient, id, 'x')));
    await waitFor(() => expect(ids.filter((id) => !runsById().has(id))).toEqual([]), { timeout: 30_000, interval: 100 });
    const byId = runsById();
    expect(ids.map((id) => byId.get(id)?.length)).toEqual(ids.map(() => 1));
    expect(ids.every((id) => byId.get(id)?.[0]?.retryCount === 0)).toBe(true);
    // Status queries are taken in the queue group: 12 of them reach both gateways (each 2^-11
    // to miss one), and every one answers from the shared record bucket.
    const statuses = await Promise.all(ids.slice(0, 12).map((id, i) => devices[i % 3]!.getAsyncStatus(id)));
    await waitFor(async () => {
      const again = await Promise.all(ids.slice(0, 12).map((id, i) => devices[i % 3]!.getAsyncStatus(id)));
      expect(again.map((s) => s.state)).toEqual(again.map(() => 'succeeded'));
    }, { timeout: 15_000, interval: 100 });
    expect(statuses.every((s) => s.function === 'Async/record')).toBe(true);
    // Another client's call is not this one's to see (§10.7): the key is (client, request ID).
    expect((await devices[1]!.getAsyncStatus(ids[0] ?? '')).state).toBe('unknown');
  }, 60_000);

  test('a request ID sent again is accepted again and run once (§10.2)', async () => {
    const client = device('sensor-1', 1);
    await invokeAsync(client, 'dup-1', 'x');
    await invokeAsync(client, 'dup-1', 'x');
    await waitFor(() => expect(runsById().get('dup-1')?.length).toBe(1), { timeout: 15_000, interval: 100 });
    await invokeAsync(client, 'dup-1', 'x');
    await waitFor(async () => expect((await client.getAsyncStatus('dup-1')).state).toBe('succeeded'), { timeout: 15_000, interval: 100 });
    expect(runsById().get('dup-1')?.length).toBe(1);
    // The same request ID with another event is another call, refused while the first is kept (its record keeps its event).
    await invokeAsync(client, 'dup-2', 'first', 30);
    expect(await settledCode(invokeAsync(client, 'dup-2', 'second', 30))).toBe('InvalidArgument');
    expect(await settledCode(invokeAsync(client, 'dup-2', 'first', 30))).toBe('ok');
  }, 30_000);

  test('a failing call is retried (NAK with backoff), each run with a higher retryCount, and succeeds', async () => {
    const client = device('sensor-2', 2);
    await invokeAsync(client, 'retry-1', 'fail-twice');
    await waitFor(async () => expect((await client.getAsyncStatus('retry-1')).state).toBe('succeeded'), { timeout: 30_000, interval: 200 });
    expect(runsById().get('retry-1')?.map((run) => run.retryCount)).toEqual([0, 1, 2]);
    expect((await client.getAsyncStatus('retry-1')).attempts).toBe(3);
  }, 40_000);

  test('an operator cancels a delayed call (it never runs) and stops a running one, wherever it runs', async () => {
    const client = device('sensor-3', 0);
    await invokeAsync(client, 'delayed-1', 'x', 60);
    expect((await client.getAsyncStatus('delayed-1')).state).toBe('enqueued');
    const cancelled = await invocations('cancel', 'delayed-1');
    expect(cancelled.code, cancelled.output).toBe(0);
    expect((await client.getAsyncStatus('delayed-1')).state).toBe('cancelled');

    const release = join(await traversableTempDir('edgefc-release-'), 'go');
    await invokeAsync(client, 'held-1', `hold-until:${release}`);
    await waitFor(async () => expect((await client.getAsyncStatus('held-1')).state).toBe('running'), { timeout: 15_000, interval: 100 });
    // Cancel refuses a running call; stop reaches the gateway running it (the stop subject).
    const refused = await invocations('cancel', 'held-1');
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/InvalidArgument/);
    const stopped = await invocations('stop', 'held-1');
    expect(stopped.code, stopped.output).toBe(0);
    expect((await client.getAsyncStatus('held-1')).state).toBe('stopped');
    await writeFile(release, '');
    expect(runsById().get('held-1')?.map((run) => run.retryCount), JSON.stringify(runsById().get('held-1'))).toEqual([0]);
    expect(runsById().has('delayed-1')).toBe(false);
  }, 60_000);

  test('an accepted call the stream lost is published again from its record and runs once; a call the stream keeps is left alone', async () => {
    // What nats-server 2.9.10 once did to 102 accepted calls after leader kills (docs/cluster.md
    // "A call the stream lost"), done here on purpose: the call's message is deleted from the
    // stream while it waits for its delay (§3.8), its record still `enqueued`.
    const client = device('sensor-2', 1);
    await invokeAsync(client, 'lost-1', 'x', 3);
    await invokeAsync(client, 'kept-1', 'x', 3);
    const login = await readGatewayLogin(env.dataDir);
    if (login === undefined) throw new Error('broker-config wrote no gateway login');
    const nc = await connect({ servers: env.cluster.natsUrls, user: login.username, pass: login.password });
    try {
      const jsm = await jetstreamManager(nc);
      const seqOf = async (requestId: string): Promise<number> => {
        const info = await jsm.streams.info(ASYNC_STREAM);
        for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
          const stored = await jsm.streams.getMessage(ASYNC_STREAM, { seq });
          if (stored !== null && decodeCallMessage(stored.data).requestId === requestId) return seq;
        }
        throw new Error(`${requestId} is not in the stream`);
      };
      expect(await jsm.streams.deleteMessage(ASYNC_STREAM, await seqOf('lost-1'))).toBe(true);
      await expect(seqOf('lost-1')).rejects.toThrow(/not in the stream/);
      await waitFor(async () => expect((await client.getAsyncStatus('lost-1')).state).toBe('succeeded'), { timeout: 20_000, interval: 200 });
      await waitFor(async () => expect((await client.getAsyncStatus('kept-1')).state).toBe('succeeded'), { timeout: 20_000, interval: 200 });
    } finally {
      await nc.close();
    }
    expect(runsById().get('lost-1')?.map((run) => run.retryCount)).toEqual([0]);
    expect(runsById().get('kept-1')?.map((run) => run.retryCount)).toEqual([0]);
    // Published again by a gateway (two checking at once publish one copy: the same message ID),
    // and only the call that was lost.
    const republished = gateways.flatMap((g) => g.proc.output().split('\n')).filter((line) => /published again from its record/.test(line));
    expect(republished.length, republished.join('\n')).toBeGreaterThanOrEqual(1);
    expect(republished.every((line) => line.includes('lost-1')), republished.join('\n')).toBe(true);
  }, 40_000);

  test('maxAsyncQueueLength holds across gateways: a full function refuses new calls (ResourceThrottled), accepts a retry of one it has, and takes calls again once they ran', async () => {
    const client = device('sensor-1', 2);
    const limited = (requestId: string): Promise<unknown> =>
      client.invokeFunction({ serviceName: 'Async', functionName: 'limited', invocationType: 'Async', payload: 'x', requestId, asyncDelay: 4 });
    for (const id of ['limit-1', 'limit-2', 'limit-3']) await limited(id);
    // Each gateway counts the stream's calls once a second, and its own acceptances at once: a
    // gateway that has not yet counted the others' may take up to the limit more (protocol §10.10).
    let probe = 0;
    const extra: string[] = [];
    await waitFor(async () => {
      const id = `limit-probe-${probe++}`;
      const code = await settledCode(limited(id));
      if (code === 'ok') extra.push(id);
      expect(code).toBe('ResourceThrottled');
    }, { timeout: 10_000, interval: 100 });
    expect(extra.length, extra.join(', ')).toBeLessThanOrEqual(2 * 3);
    expect(await settledCode(limited('limit-1'))).toBe('ok');
    // The delayed calls run after 4 s and leave the stream: room again.
    await waitFor(async () => expect(await settledCode(limited(`limit-after-${probe++}`))).toBe('ok'), { timeout: 20_000, interval: 250 });
    await waitFor(() => expect(['limit-1', 'limit-2', 'limit-3'].every((id) => runsById().get(id)?.length === 1)).toBe(true), { timeout: 20_000, interval: 200 });
  }, 40_000);

  test('devices cannot reach the Async stream or the record bucket: a device granted nothing there gets no answer but its own', async () => {
    // The permissions broker-config wrote deny every login but the gateway's the stream's
    // subjects, $JS and $KV (unit-tested in test/unit/nats-config.test.ts); here, through the
    // real server: a device's MQTT subscription to the stream's subjects is refused.
    const raw = await connectAsDevice(env, 'sensor-1', 'spy');
    try {
      await expect(raw.subscribeAsync('edgefc_async/#', { qos: 0 })).rejects.toThrow(/Subscribe error/);
      await expect(raw.subscribeAsync('$KV/#', { qos: 0 })).rejects.toThrow(/Subscribe error/);
    } finally {
      await raw.endAsync(true);
    }
    expect(await settledCode(invokeAsync(device('sensor-1', 0), 'not-mine', 'x'))).toBe('ok');
  }, 30_000);
});

interface StreamCluster {
  leader?: string;
  replicas?: { name: string; current: boolean }[];
}

/**
 * A stream's cluster state as its leader reports it. The leader is the one most running nodes
 * name (/jsz): a node just back from a kill may still name itself from its old state.
 */
async function streamCluster(stream: string): Promise<StreamCluster | undefined> {
  const views = new Map<string, StreamCluster>();
  for (const node of env.cluster.nodes) {
    if (node.process === undefined) continue;
    const body = await httpGet(`http://127.0.0.1:${node.ports.http}/jsz?accounts=true&streams=true`).catch(() => undefined);
    if (body === undefined) continue;
    const jsz = JSON.parse(body) as { account_details?: { stream_detail?: { name: string; cluster?: StreamCluster }[] }[] };
    const cluster = jsz.account_details?.flatMap((a) => a.stream_detail ?? []).find((s) => s.name === stream)?.cluster;
    if (cluster !== undefined) views.set(node.name, cluster);
  }
  const votes = new Map<string, number>();
  for (const view of views.values()) if (view.leader !== undefined) votes.set(view.leader, (votes.get(view.leader) ?? 0) + 1);
  const leader = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  return leader === undefined ? undefined : views.get(leader);
}

/** The node (index) leading a stream. */
async function streamLeader(stream: string): Promise<number | undefined> {
  const leader = (await streamCluster(stream))?.leader;
  return leader === undefined ? undefined : env.cluster.nodes.findIndex((n) => n.name === leader);
}

/** A leader, and both other nodes current replicas of it. */
async function replicasCurrent(stream: string): Promise<boolean> {
  const cluster = await streamCluster(stream);
  return cluster?.replicas?.length === 2 && cluster.replicas.every((replica) => replica.current);
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('no accepted Async call lost while the stream leader and its gateway are killed (-9)', () => {
  /**
   * The issue's 10,000 calls (~50 s here). nats-server 2.9.10 has twice lost around a hundred
   * acknowledged calls from the stream in such a run (its replicas diverged after the leader
   * kills); the lost-call check (every LOST_CHECK_S here) publishes them again from their records,
   * and the test counts them (docs/cluster.md "A call the stream lost").
   */
  const CALLS = Number(process.env['EDGEFC_KILL_TEST_CALLS'] ?? 10_000);
  const IN_FLIGHT = 48;
  const KILLS = 3;

  test(`${CALLS} calls, ${KILLS} kills of the stream leader's node and a gateway: 0 accepted lost, re-runs only of calls running at a kill, each with a higher retryCount`, async () => {
    const devices = ['sensor-1', 'sensor-2', 'sensor-3'].map((name, node) => device(name, node, 4_000));
    const accepted = new Set<string>();
    /** Which device's call it is (§10.7: a client sees only its own). */
    const owner = new Map<string, FCClient>();
    const killTimes: { from: number; to: number }[] = [];
    const allGateways = [...gateways];
    const killedNodes: number[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= CALLS) return;
        const requestId = `kill-${i}`;
        // A device's retry loop: the same client and request ID until "accepted" (§10.2: a request
        // ID is one client's; the same ID from another client is another call).
        const client = devices[i % 3] as FCClient;
        for (;;) {
          try {
            await invokeAsync(client, requestId, '20');
            accepted.add(requestId);
            owner.set(requestId, client);
            break;
          } catch (error) {
            const code = (error as { code?: string }).code;
            if (code !== 'RequestTimeout' && code !== 'ServiceUnavailable' && code !== 'ConnectionLost') throw error;
          }
        }
      }
    };
    const killer = async (): Promise<void> => {
      for (let k = 0; k < KILLS; k++) {
        await waitFor(() => expect(accepted.size).toBeGreaterThanOrEqual(((k + 1) * CALLS) / (KILLS + 2)), { timeout: 120_000, interval: 50 });
        const leader = await streamLeader('EDGEFC_ASYNC');
        expect(leader).toBeDefined();
        const node = leader as number;
        // The gateway on that node (or, when none is, the first): killed with its functions, as a box dies.
        const onNode = await Promise.all(gateways.map(async (g) => (await env.cluster.nodeOf(`/${g.pid}`)) === node));
        const victim = gateways[Math.max(0, onNode.indexOf(true))] as ClusterGateway;
        const from = Date.now();
        killedNodes.push(node);
        process.kill(-victim.pid, 'SIGKILL');
        await env.cluster.kill(node);
        // From the gateway's kill to the node's death: a run starting in between was running at the kill.
        killTimes.push({ from, to: Date.now() });
        gateways = gateways.filter((g) => g !== victim);
        // The next kill waits until the node is back in the Async stream and record bucket:
        // two nodes down at once is a lost majority, which no R3 stream survives. Not for its
        // /healthz: nats-server 2.9.10's MQTT layer was seen to keep a consumer "not current"
        // for over 90 s after a -9 on this loaded box (docs/cluster.md).
        await env.cluster.restart(node).catch((error: unknown) => {
          if (!/not healthy/.test(String(error))) throw error;
        });
        await waitFor(async () => {
          expect(await replicasCurrent('EDGEFC_ASYNC')).toBe(true);
          expect(await replicasCurrent('KV_edgefc_async_records')).toBe(true);
        }, { timeout: 60_000, interval: 200 });
        gateways.push(await env.startGateway());
        allGateways.push(gateways.at(-1)!);
      }
    };
    await Promise.all([killer(), ...Array.from({ length: IN_FLIGHT }, () => worker())]);
    expect(accepted.size).toBe(CALLS);

    try {
      await waitFor(() => {
        const byId = runsById();
        const missing = [...accepted].filter((id) => !byId.has(id));
        expect(missing.length, `missing: ${missing.slice(0, 5).join(', ')}`).toBe(0);
      }, { timeout: 60_000, interval: 250 });
    } catch (error) {
      // What a failure needs to be understood: the missing calls' records, the consumer as the
      // servers see it, the kills, and what the gateways warned about.
      const byId = runsById();
      const missing = [...accepted].filter((id) => !byId.has(id));
      const records = await Promise.all(missing.slice(0, 5).map(async (id) => JSON.stringify(await owner.get(id)!.getAsyncStatus(id).catch((e: unknown) => String(e)))));
      const views = await Promise.all(env.cluster.nodes.filter((n) => n.process !== undefined).map(async (n) => {
        const body = await httpGet(`http://127.0.0.1:${n.ports.http}/jsz?accounts=true&streams=true&consumers=true`).catch(() => '{}');
        type Detail = { name: string; state?: unknown; cluster?: { leader?: string }; consumer_detail?: { delivered?: unknown; ack_floor?: unknown; num_pending?: number; num_ack_pending?: number; cluster?: { leader?: string } }[] };
        const jsz = JSON.parse(body) as { account_details?: { stream_detail?: Detail[] }[] };
        const detail = jsz.account_details?.flatMap((a) => a.stream_detail ?? []).find((d) => d.name === 'EDGEFC_ASYNC');
        return `${n.name}: stream ${JSON.stringify(detail?.state)} leader ${detail?.cluster?.leader}; consumer ${JSON.stringify(detail?.consumer_detail?.[0])}`;
      }));
      const warnings = allGateways.map((g) => g.proc.output().split('\n').filter((l) => /WARN|ERROR/.test(l)).slice(-20).join('\n'));
      console.log(['[nats-async kill] records of missing calls:', ...records, 'stream and consumer, per node:', ...views, `kills at ${JSON.stringify(killTimes)}`, ...warnings].join('\n'));
      throw error;
    }
    const byId = runsById();
    const rerun = [...accepted].filter((id) => (byId.get(id)?.length ?? 0) > 1);
    for (const id of rerun) {
      const ofId = (byId.get(id) ?? []).sort((a, b) => a.at - b.at);
      // Each re-run sees a higher retryCount than the run before it.
      for (let i = 1; i < ofId.length; i++) expect(ofId[i]!.retryCount, `${id}: ${JSON.stringify(ofId)}`).toBeGreaterThan(ofId[i - 1]!.retryCount);
      // Only calls running at a kill run again: their first run started shortly before one, or
      // in the outage right after it, when its outcome could not be recorded and acknowledged
      // before ack_wait (publishers stall 4-10 s while a node is lost, FACTS.md).
      const first = ofId[0]!.at;
      expect(killTimes.some((kill) => kill.from - first < 15_000 && first - kill.to < 10_000), `${id} ran at ${first}, kills at ${JSON.stringify(killTimes)}`).toBe(true);
    }
    // Any surviving gateway answers for calls, wherever they ran.
    for (const id of [...accepted].slice(0, 5)) {
      await waitFor(async () => expect((await owner.get(id)!.getAsyncStatus(id)).state).toBe('succeeded'), { timeout: 30_000, interval: 200 });
    }
    // Calls the stream lost and a lost-call check published again (docs/cluster.md): counted, not asserted.
    const republished = allGateways.flatMap((g) => g.proc.output().split('\n')).filter((line) => /published again from its record/.test(line) && line.includes('kill-')).length;
    console.log(`[nats-async kill] ${CALLS} calls, ${accepted.size} accepted, kills at nodes ${killedNodes.join(', ')}, ${runs().filter((r) => r.requestId.startsWith('kill-')).length} runs, ${rerun.length} re-run, ${republished} published again from records`);
    // Every kill hit the stream's leader. Which node leads is the cluster's choice, so the same
    // node may be hit every time (one CI run killed node 2 three times): not asserted. Moving the
    // leader with a step-down was tried: one run of three then left 3,140 accepted calls unrun
    // past the 60 s window above (nats-server 2.9.10; not investigated further).
  }, 240_000);
});
