/**
 * Scenario 7: several gateways on a NATS cluster (docs/cluster.md, docs/scale-out.md). A secured
 * three-node nats-server cluster on loopback (bench/lib/nats-cluster.ts, users from natsConfig);
 * devices on node 1's MQTT listener; 1, 2 and 3 `edgefc gateway --nats` processes (the echo
 * sample in its own process each) against the floor, a nats.js echo in the same queue group
 * (workers/nats-echo.ts), all through the same listener, in one run:
 *
 * - Sync round trip, 1 in flight, requests at QoS 1 (FCClient's default: each a replicated
 *   write in nats-server's MQTT layer);
 * - Sync throughput, 64 in flight, requests at QoS 0 (`syncRequestQos: 0`), so the MQTT layer's
 *   replicated write does not cap what the gateways can take.
 *
 * The floor and the gateways cannot share the queue group (each would take a share of the
 * calls), so targets run one after another; rounds go up (floor, 1, 2, 3) and down (3, 2, 1,
 * floor) in turn, so drift on a shared box falls on every target alike. Each row carries the
 * 1-minute load average at its last measurement. Not in `--quick`: it takes minutes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../gateway/package-root.js';
import { bcryptHash, MACHINE_BCRYPT_COST } from '../../gateway/security/bcrypt-hash.js';
import { natsConfig } from '../../gateway/security/nats-config.js';
import type { RunArgs, RunResult } from '../workers/client.js';
import { mergeLatency, type BenchContext, type BenchRow } from '../lib/context.js';
import { WorkerProcess } from '../lib/ipc.js';
import { findNatsServer, startNatsCluster } from '../lib/nats-cluster.js';
import { BENCH_SERVICE, ECHO_FUNCTION, writeBundledEchoTemplate } from '../lib/templates.js';
import { PAYLOAD_BYTES, ratioOf } from './latency.js';

const WORKERS = join(dirname(fileURLToPath(import.meta.url)), '..', 'workers');
const DEVICE = 'bench';
const GATEWAY_LOGIN = 'edgefc_gateway';
const FLOOR = 'floor';
const TARGETS = [FLOOR, '1', '2', '3'] as const;
type TargetKey = (typeof TARGETS)[number];
const LABELS: Record<TargetKey, string> = {
  floor: 'raw nats.js echo in the queue group (same MQTT listener)',
  '1': '1 gateway (edgefc gateway --nats)',
  '2': '2 gateways',
  '3': '3 gateways',
};
const LOADS = [
  { key: 'p50', scenario: '7a. Cluster: Sync round trip, 1 in flight, request QoS 1', inFlight: 1, qos: 1 as const },
  { key: 'throughput', scenario: '7b. Cluster: Sync throughput, 64 in flight, request QoS 0', inFlight: 64, qos: 0 as const },
] as const;

interface Measured {
  results: RunResult[];
  load: number;
}

export async function runCluster(context: BenchContext): Promise<BenchRow[]> {
  const bin = findNatsServer();
  if (bin === undefined) {
    context.progress('7. cluster: nats-server not installed (apt-get install -y nats-server), skipped');
    return [{ scenario: '7. Cluster', label: 'skipped: nats-server not installed' }];
  }
  const dir = await mkdtemp(join(tmpdir(), 'edgefc-bench-cluster-'));
  const templatePath = await writeBundledEchoTemplate(dir);
  const devicePassword = `bench-device-${process.pid}`;
  const gatewayPassword = `bench-gateway-${process.pid}`;
  const { authorization } = natsConfig({
    principals: [{ name: DEVICE, role: 'device', password: '$7$unused', natsPassword: await bcryptHash(devicePassword, MACHINE_BCRYPT_COST), certificate: false, groups: [], publish: [], subscribe: [] }],
    gateway: { name: GATEWAY_LOGIN, bcryptHash: await bcryptHash(gatewayPassword, MACHINE_BCRYPT_COST) },
    functions: [],
    triggerFilters: [],
    destinationTopics: [],
  });
  context.progress('7. cluster: starting a three-node nats-server cluster (JetStream, MQTT listeners)');
  const cluster = await startNatsCluster(bin, { authorization });
  const workers: WorkerProcess[] = [];
  const gateways: ChildProcess[] = [];
  let floor: WorkerProcess | undefined;
  const worker = async (name: string, script: string): Promise<WorkerProcess> => {
    const started = await WorkerProcess.start(name, join(WORKERS, script));
    workers.push(started);
    return started;
  };
  const startFloor = async (): Promise<void> => {
    floor = await worker('nats-echo', 'nats-echo.js');
    await floor.call('start', { servers: cluster.natsUrls, username: GATEWAY_LOGIN, password: gatewayPassword });
  };
  const stopFloor = async (): Promise<void> => {
    await floor?.call('stop');
    await floor?.stop();
    floor = undefined;
  };
  const startGateway = async (): Promise<void> => {
    const index = gateways.length + 1;
    const child = spawn(
      process.execPath,
      [join(PACKAGE_ROOT, 'bin', 'edgefc.js'), 'gateway', '--nats', cluster.natsUrls.join(','), '--username', GATEWAY_LOGIN, '--template', templatePath, '--data', join(dir, `gateway-${index}-${Date.now()}`), '--insecure', '--metrics', 'off', '--store-sync', 'off', '--function-user', 'off', '--log-level', 'warn'],
      // The password from the environment, as an operator passes it (never argv).
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EDGEFC_PASSWORD: gatewayPassword } },
    );
    gateways.push(child);
    await new Promise<void>((resolve, reject) => {
      // Its log (the bench's own warnings: --insecure, --function-user off) only when it fails to start.
      let out = '';
      const take = (chunk: Buffer): void => {
        out = (out + chunk.toString()).slice(-8_192);
        if (/edgefc gateway ready/.test(out)) resolve();
      };
      child.stdout?.on('data', take);
      child.stderr?.on('data', take);
      child.once('exit', (code) => reject(new Error(`gateway ${index} exited (${String(code)}): ${out}`)));
    });
  };
  /** SIGTERM: the gateway leaves the queue group first (Gateway.stop), then finishes. */
  const stopGateway = async (): Promise<void> => {
    const child = gateways.pop();
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  /** Bring the serving side to `target`: the floor alone, or that many gateways. */
  const become = async (target: TargetKey): Promise<void> => {
    if (target === FLOOR) {
      while (gateways.length > 0) await stopGateway();
      if (floor === undefined) await startFloor();
      return;
    }
    if (floor !== undefined) await stopFloor();
    const count = Number(target);
    while (gateways.length > count) await stopGateway();
    while (gateways.length < count) await startGateway();
  };

  const measured = new Map<string, Measured>();
  try {
    const clients = new Map<number, WorkerProcess>();
    for (const load of LOADS) {
      const client = await worker(`client-cluster-qos${load.qos}`, 'client.js');
      await client.call('connect', { protocol: 'fc', url: cluster.nodes[0]?.mqttUrl ?? '', service: BENCH_SERVICE, fn: ECHO_FUNCTION, connections: 1, clientIdPrefix: `${DEVICE}_q${load.qos}_`, login: { username: DEVICE, password: devicePassword }, syncRequestQos: load.qos });
      clients.set(load.qos, client);
    }
    for (let round = 0; round < context.durations.rounds; round++) {
      const order = round % 2 === 0 ? [...TARGETS] : [...TARGETS].reverse();
      for (const target of order) {
        await become(target);
        for (const load of LOADS) {
          const client = clients.get(load.qos);
          if (client === undefined) continue;
          context.progress(`${load.scenario}: ${LABELS[target]} (round ${round + 1}/${context.durations.rounds})`);
          const args: RunArgs = { mode: 'closed', inFlight: load.inFlight, rate: 0, warmupMs: context.durations.warmupMs, durationMs: context.durations.measureMs, payloadBytes: PAYLOAD_BYTES, timeoutMs: 30_000 };
          const result = await client.call<RunResult>('run', args);
          const key = `${load.key}\0${target}`;
          const entry = measured.get(key) ?? { results: [], load: 0 };
          entry.results.push(result);
          entry.load = Math.round((loadavg()[0] ?? 0) * 100) / 100;
          measured.set(key, entry);
        }
      }
    }
  } finally {
    while (gateways.length > 0) await stopGateway().catch(() => undefined);
    await Promise.allSettled(workers.map((started) => started.stop()));
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  }

  const rows: BenchRow[] = [];
  for (const load of LOADS) {
    const summaryOf = (target: TargetKey): { latency: ReturnType<ReturnType<typeof mergeLatency>['summary']>; throughput: number; errors: number; load: number } | undefined => {
      const entry = measured.get(`${load.key}\0${target}`);
      if (entry === undefined) return undefined;
      const completed = entry.results.reduce((sum, result) => sum + result.completed, 0);
      const windowMs = entry.results.reduce((sum, result) => sum + result.windowMs, 0);
      return { latency: mergeLatency(entry.results).summary(), throughput: windowMs === 0 ? 0 : Math.round((completed / windowMs) * 1000), errors: entry.results.reduce((sum, result) => sum + result.errors, 0), load: entry.load };
    };
    const baseline = summaryOf(FLOOR);
    const baselineLabel = `baseline: ${LABELS[FLOOR]}`;
    if (baseline !== undefined) rows.push({ scenario: load.scenario, label: baselineLabel, latency: baseline.latency, throughput: baseline.throughput, errors: baseline.errors, extra: { 'load avg 1m': baseline.load } });
    for (const target of TARGETS.filter((key) => key !== FLOOR)) {
      const summary = summaryOf(target);
      if (summary === undefined || baseline === undefined) continue;
      rows.push({
        scenario: load.scenario,
        label: LABELS[target],
        baseline: baselineLabel,
        latency: summary.latency,
        throughput: summary.throughput,
        errors: summary.errors,
        ratio: {
          p50: ratioOf(summary.latency.p50Us, baseline.latency.p50Us),
          p99: ratioOf(summary.latency.p99Us, baseline.latency.p99Us),
          p999: ratioOf(summary.latency.p999Us, baseline.latency.p999Us),
          throughput: ratioOf(summary.throughput, baseline.throughput),
        },
        extra: { 'load avg 1m': summary.load },
      });
    }
  }
  return rows;
}
