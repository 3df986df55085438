/**
 * `node dist/bench/nats-sync.js [--rounds N] [--block N]`: sequential Sync p50 through
 * nats-server's MQTT listener (docs/cluster.md), requests at QoS 1 (FCClient's default) and at
 * QoS 0 (`syncRequestQos: 0`), against a raw floor: a nats.js echo responder in the same queue
 * group setup, answered to the device's reply subject. A secured three-node cluster on loopback
 * (bench/lib/nats-cluster.ts, users from natsConfig), one gateway in this process
 * (`nats: { servers }`), the echo sample in its own process, the device on node 1 and the
 * gateway on any node. Blocks of QoS 1 and QoS 0 alternate (ABBA) so drift falls on both.
 * Then calls per second with 64 in flight (QoS 0): the raw echo, 1 and 2 gateway processes
 * (`edgefc gateway --nats`, `--calls N` each).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { connect } from '@nats-io/transport-node';
import { Gateway } from '../gateway/gateway.js';
import { PACKAGE_ROOT } from '../gateway/package-root.js';
import { GATEWAY_QUEUE_GROUP } from '../gateway/transport/nats-link.js';
import { decodeRequest } from 'edgefc/protocol';
import { encodeOkReply } from 'edgefc/protocol';
import { FCClient } from 'edgefc';
import { startNatsBench } from './lib/nats-bench-setup.js';
import { BENCH_SERVICE, ECHO_FUNCTION } from './lib/templates.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, block: { type: 'string', default: '200' }, calls: { type: 'string', default: '4000' } } });
const throughputCalls = Number(values.calls);
const IN_FLIGHT = 64;
const rounds = Number(values.rounds);
const block = Number(values.block);
const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

// The raw floor's responder logs in as the gateway does (same subjects), before the gateway starts.
const { dir, templatePath, devicePassword, gatewayPassword, cluster, silent } = await startNatsBench('edgefc-nats-bench-');
let gateway: Gateway | undefined;
const clients: FCClient[] = [];
const device = (qos: 0 | 1): FCClient => {
  const client = new FCClient({ brokerUrl: cluster.nodes[0]?.mqttUrl ?? '', username: 'bench', password: devicePassword, syncRequestQos: qos });
  clients.push(client);
  return client;
};
const payload = 'x'.repeat(64);
const run = async (client: FCClient, n: number, into: number[] | undefined): Promise<void> => {
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await client.invokeFunction({ serviceName: BENCH_SERVICE, functionName: ECHO_FUNCTION, payload });
    into?.push((performance.now() - started) * 1000);
  }
};
const row = (label: string, s: number[]): string => {
  s.sort((x, y) => x - y);
  return `${label}: n=${s.length} p50=${quantile(s, 0.5).toFixed(1)} µs p99=${quantile(s, 0.99).toFixed(1)} µs`;
};
/** Calls per second with IN_FLIGHT calls always waiting, after a warm-up. */
const throughput = async (client: FCClient): Promise<number> => {
  const burst = async (n: number): Promise<void> => {
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < n) {
          next += 1;
          await client.invokeFunction({ serviceName: BENCH_SERVICE, functionName: ECHO_FUNCTION, payload });
        }
      }),
    );
  };
  await burst(500);
  const started = performance.now();
  await burst(throughputCalls);
  return throughputCalls / ((performance.now() - started) / 1000);
};

/** `edgefc gateway --nats` in its own process; resolves once it says it is ready. */
const gatewayProcess = async (index: number): Promise<ChildProcess> => {
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'edgefc.js'), 'gateway', '--nats', cluster.natsUrls.join(','), '--username', 'edgefc_gateway', '--template', templatePath, '--data', join(dir, `gateway-${index}`), '--insecure', '--metrics', 'off', '--store-sync', 'off', '--function-user', 'off', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, EDGEFC_PASSWORD: gatewayPassword },
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/edgefc gateway ready/.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`gateway ${index} exited (${code}): ${out}`)));
  });
  return child;
};

/** ABBA blocks of the two clients; their latencies in µs. */
const abba = async (qos1: FCClient, qos0: FCClient): Promise<[number[], number[]]> => {
  await run(qos1, 300, undefined);
  await run(qos0, 300, undefined);
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order: [FCClient, number[]][] = round % 2 === 0 ? [[qos1, a], [qos0, b]] : [[qos0, b], [qos1, a]];
    for (const [client, into] of order) await run(client, block, into);
  }
  return [a, b];
};
try {
  // The floor: a nats.js responder in the gateways' queue group, answering every request with
  // its own event, as the gateway's reply envelope (no function, no dispatch).
  const raw = await connect({ servers: cluster.natsUrls, user: 'edgefc_gateway', pass: gatewayPassword });
  raw.subscribe('edgefc.v1.invoke.*.*.*', {
    queue: GATEWAY_QUEUE_GROUP,
    callback: (_error, msg) => {
      const request = decodeRequest(Buffer.from(msg.data));
      raw.publish(`edgefc.v1.reply.${msg.subject.split('.')[3] ?? ''}`, encodeOkReply(request.requestId, request.event, false));
    },
  });
  await raw.flush();
  const [rawA, rawB] = await abba(device(1), device(0));
  console.log(row('raw echo, request QoS 1', rawA));
  console.log(row('raw echo, request QoS 0', rawB));
  console.log(`raw echo, ${IN_FLIGHT} in flight, QoS 0: ${(await throughput(device(0))).toFixed(0)} calls/s`);
  await raw.drain();

  // Throughput of 1 and 2 gateway processes (the echo sample in its own process each).
  const processes: ChildProcess[] = [];
  try {
    for (const count of [1, 2]) {
      while (processes.length < count) processes.push(await gatewayProcess(processes.length + 1));
      console.log(`${count} gateway process(es), ${IN_FLIGHT} in flight, QoS 0: ${(await throughput(device(0))).toFixed(0)} calls/s`);
    }
  } finally {
    for (const child of processes) child.kill('SIGTERM');
    await Promise.all(processes.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : Promise.resolve())));
  }

  gateway = await Gateway.start({
    templatePath,
    dataDir: join(dir, 'data'),
    insecure: true,
    nats: { servers: cluster.natsUrls },
    username: 'edgefc_gateway',
    password: gatewayPassword,
    logger: silent,
    storeSync: 'off',
    functionUser: 'off',
  });
  const [a, b] = await abba(device(1), device(0));
  console.log(row('gateway, request QoS 1', a));
  console.log(row('gateway, request QoS 0', b));
} finally {
  await Promise.all(clients.map((client) => client.close()));
  await gateway?.stop();
  await cluster.close();
  await rm(dir, { recursive: true, force: true });
}
