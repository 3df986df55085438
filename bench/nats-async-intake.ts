/**
 * `node dist/bench/nats-async-intake.js [--rounds N] [--calls N]`: Async intake in NATS mode
 * (docs/cluster.md "Async calls"), accepted calls per second with 64 in flight from one device
 * through nats-server's MQTT listener to one gateway (`nats: { servers }` in this process; the
 * call is "accepted" once the R3 stream acknowledged the gateway's publish and the record is
 * created), against the floor: a nats.js client publishing to an R3 JetStream stream with a
 * message ID, 64 in flight, acknowledged. A secured three-node cluster on loopback. Rounds of
 * the two alternate (ABBA), so drift on a shared box falls on both; the ratio is per round.
 * The calls also run (the echo sample): the gateway pulls and runs while it takes more, as it would.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { FCClient } from 'edgefc';
import { Gateway } from '../gateway/gateway.js';
import { startNatsBench } from './lib/nats-bench-setup.js';
import { BENCH_SERVICE, ECHO_FUNCTION } from './lib/templates.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '4' }, calls: { type: 'string', default: '2000' } } });
const rounds = Number(values.rounds);
const calls = Number(values.calls);
const IN_FLIGHT = 64;

const { dir, templatePath, devicePassword, gatewayPassword, cluster, silent } = await startNatsBench('edgefc-nats-async-bench-');
const payload = 'x'.repeat(64);

/** Per second, `n` tasks with IN_FLIGHT always waiting. */
const perSecond = async (n: number, task: (i: number) => Promise<unknown>): Promise<number> => {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) await task(next++);
    }),
  );
  return n / ((performance.now() - started) / 1000);
};

let gateway: Gateway | undefined;
const client = new FCClient({ brokerUrl: cluster.nodes[0]?.mqttUrl ?? '', username: 'bench', password: devicePassword });
const raw = await connect({ servers: cluster.natsUrls, user: 'edgefc_gateway', pass: gatewayPassword });
try {
  // The floor's stream: as the gateway's (R3, file, work queue, message IDs), its own subjects.
  const jsm = await jetstreamManager(raw);
  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['edgefc_async.bench.>'], retention: RetentionPolicy.Workqueue, storage: StorageType.File, num_replicas: 3 });
  const js = jetstream(raw);
  gateway = await Gateway.start({
    templatePath,
    dataDir: join(dir, 'data'),
    insecure: true,
    nats: { servers: cluster.natsUrls },
    username: 'edgefc_gateway',
    password: gatewayPassword,
    logger: silent,
    functionUser: 'off',
  });
  let id = 0;
  const viaGateway = (): Promise<number> =>
    perSecond(calls, () => client.invokeFunction({ serviceName: BENCH_SERVICE, functionName: ECHO_FUNCTION, payload, invocationType: 'Async', requestId: `bench-${id++}` }));
  const rawPublish = (): Promise<number> => perSecond(calls, () => js.publish('edgefc_async.bench.call', payload, { msgID: `raw-${id++}` }));
  await viaGateway();
  await rawPublish();
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let a: number;
    let b: number;
    if (round % 2 === 0) {
      a = await viaGateway();
      b = await rawPublish();
    } else {
      b = await rawPublish();
      a = await viaGateway();
    }
    ratios.push(a / b);
    console.log(`round ${round + 1}: gateway ${a.toFixed(0)} accepted/s, raw R3 publish ${b.toFixed(0)}/s, ratio ${(a / b).toFixed(2)}`);
  }
  ratios.sort((x, y) => x - y);
  console.log(`median ratio gateway ÷ raw: ${(ratios[Math.floor(ratios.length / 2)] ?? Number.NaN).toFixed(2)} (${IN_FLIGHT} in flight, ${calls} calls per block)`);
} finally {
  await client.close();
  await gateway?.stop();
  await raw.close();
  await cluster.close();
  await rm(dir, { recursive: true, force: true });
}
