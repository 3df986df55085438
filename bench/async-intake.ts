/**
 * Async intake throughput (issue 3): how fast the gateway takes durable Async calls, as a ratio
 * to a raw MQTT QoS 1 publish loop through the same broker, in the same run.
 *
 *   node dist/bench/async-intake.js [--calls 20000] [--window 256] [--broker mqtt://…]
 *
 * Each mode starts its own gateway process (`edgefc start`, embedded aedes unless --broker, a
 * fresh data directory, `--store-sync full|normal|off`). The raw loop publishes QoS 1 messages
 * with the same number in flight to a topic a plain subscriber reads, through that gateway's
 * broker; it is done when the subscriber has them all. An Async run is done when every call was
 * answered "accepted" (i.e. committed to disk for full/normal). The functions run meanwhile,
 * on the same cores, as they would in production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { connectMqtt } from '../src/mqtt/connect.js';
import { FCClient } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'edgefc.js');

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    window: { type: 'string', default: '256' },
    broker: { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const WINDOW = Number(values.window);

async function startGateway(dir: string, sync: string, port: number): Promise<{ proc: ChildProcess; url: string }> {
  const template = join(dir, 'template.yml');
  await writeFile(
    template,
    `edgefc: 1
services:
  Bench:
    functions:
      sink:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${JSON.stringify(join(ROOT, 'functions', 'echo'))}
        maxInstances: 1
        instanceConcurrency: 16
        asyncConfiguration:
          maxAsyncQueueLength: 1000000
`,
  );
  const args = [CLI, 'start', '--template', template, '--data', join(dir, `data-${sync}`), '--store-sync', sync, '--skip-demo', '--log-level', 'warn'];
  if (values.broker !== undefined) args.push('--broker', values.broker);
  else args.push('--port', String(port));
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready on (\S+)/.exec(out);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    proc.once('exit', (code) => reject(new Error(`gateway exited (${code})`)));
  });
  return { proc, url };
}

async function stopGateway(proc: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  await exited;
}

/** `CALLS` sends with `WINDOW` in flight: seconds until every send has resolved, and `done` too when given. */
async function secondsFor(send: () => Promise<unknown>, done?: Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: WINDOW }, async () => {
      while (next < CALLS) {
        next += 1;
        await send();
      }
    }),
  );
  await done;
  return (performance.now() - started) / 1000;
}

/** Raw QoS 1: `window` publishes in flight, done when the subscriber has received all of them. */
async function rawQos1(url: string): Promise<number> {
  const sub = await connectMqtt(url, { clientId: `bench_sub_${process.pid}` });
  const pub = await connectMqtt(url, { clientId: `bench_pub_${process.pid}` });
  await sub.subscribeAsync('bench/intake', { qos: 1 });
  let received = 0;
  const all = new Promise<void>((resolve) => {
    sub.on('message', () => {
      received += 1;
      if (received === CALLS) resolve();
    });
  });
  const payload = Buffer.alloc(64, 1);
  const seconds = await secondsFor(() => pub.publishAsync('bench/intake', payload, { qos: 1 }), all);
  await pub.endAsync();
  await sub.endAsync();
  return CALLS / seconds;
}

/** Async calls with `window` in flight; done when every one was answered "accepted". */
async function asyncIntake(url: string): Promise<number> {
  const client = new FCClient({ brokerUrl: url, timeout: 60_000 });
  await client.connect();
  const payload = Buffer.alloc(64, 1);
  const seconds = await secondsFor(() => client.invokeFunction({ serviceName: 'Bench', functionName: 'sink', invocationType: 'Async', payload }));
  await client.close();
  return CALLS / seconds;
}

const dir = await mkdtemp(join(tmpdir(), 'edgefc-bench-intake-'));
const rows: { mode: string; raw: number; async: number }[] = [];
try {
  let port = 21883;
  for (const sync of ['full', 'normal', 'off']) {
    const { proc, url } = await startGateway(dir, sync, port++);
    try {
      await asyncIntake(url).catch(() => 0); // warm-up: instances started, JIT warm
      const raw = await rawQos1(url);
      const intake = await asyncIntake(url);
      rows.push({ mode: sync, raw, async: intake });
    } finally {
      await stopGateway(proc);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const cpu = cpus();
console.log(`Async intake, ${CALLS} calls, ${WINDOW} in flight, 64-byte events; broker: ${values.broker ?? 'embedded aedes'}`);
console.log(`machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} free), Node ${process.version}, ${process.platform}`);
console.log('store-sync  raw QoS 1 msg/s  Async accepted/s  ratio');
for (const row of rows) {
  console.log(`${row.mode.padEnd(10)}  ${row.raw.toFixed(0).padStart(15)}  ${row.async.toFixed(0).padStart(16)}  ${(row.async / row.raw).toFixed(2).padStart(5)}`);
}
