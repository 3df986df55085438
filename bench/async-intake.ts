/**
 * Async intake throughput (issue 3): how fast the gateway takes durable Async calls, as a ratio
 * to a raw MQTT QoS 1 publish loop through the same broker, in the same run.
 *
 *   node dist/bench/async-intake.js [--calls 20000] [--window 256] [--rounds 3] [--broker mqtt://…]
 *     [--modes full,normal,off] [--cpu-prof DIR] [--insecure]
 *
 * Authentication is on, as a user deploys the gateway (issue 14): the gateway's data directory
 * holds an access file (lib/bench-logins.ts) and every client here logs in as its own principal,
 * the raw publisher and subscriber included, so both sides pay the broker's checks. `--insecure`
 * runs the gateway without (to price security: run both and compare the ratios).
 *
 * Each mode starts its own gateway process (`edgefc start`, embedded aedes unless --broker, a
 * fresh data directory, `--store-sync full|normal|off`). The raw loop publishes QoS 1 messages
 * with the same number in flight to a topic a plain subscriber reads, through that gateway's
 * broker; it is done when the subscriber has them all. An Async run is done when every call was
 * answered "accepted" (i.e. committed to disk for full/normal). The functions run meanwhile,
 * on the same cores, as they would in production. Each mode runs `rounds` raw and Async runs of
 * `calls` each, alternating which goes first, and merges them (calls / total seconds), so a burst
 * of someone else's load on this shared machine lands on both sides of a ratio, not on one.
 * Every run starts once the gateway has run every call accepted before it (its `stats`): a raw
 * run must not share the cores with the last Async run's backlog, and an Async run pays for
 * running its own calls, not for its predecessors'. How long an Async run takes until its calls
 * have also run is printed too ("end to end").
 *
 * After the table it prints, per mode, the CPU each party spent per Async call (the bench client,
 * the gateway process with its embedded broker, the function processes), from /proc, so a change
 * that moves CPU from one party to another shows. `--cpu-prof DIR` runs the gateways under
 * `node --cpu-prof` (a .cpuprofile per gateway in DIR; `node dist/bench/lib/profile-summary.js
 * FILE` summarizes one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { connectMqtt } from 'edgefc/mqtt';
import { FCClient } from 'edgefc';
import { AdminClient } from '../gateway/cli/admin-client.js';
import { createBenchLogins, type BenchLogins, type Login } from './lib/bench-logins.js';
import { childrenUsage, processCpuUs } from './lib/proc.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'edgefc.js');

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    window: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '3' },
    broker: { type: 'string' },
    modes: { type: 'string', default: 'full,normal,off' },
    'cpu-prof': { type: 'string' },
    insecure: { type: 'boolean', default: false },
  },
});
const INSECURE = values.insecure;
const CALLS = Number(values.calls);
const WINDOW = Number(values.window);
const ROUNDS = Number(values.rounds);

const PUBLISHER = 'b-intake-pub';
const SUBSCRIBER = 'b-intake-sub';
const CALLER = 'b-intake-async';
const OPERATOR = 'b-intake-admin';

/** The principals' logins, or none with --insecure. */
const logins: BenchLogins | undefined = INSECURE ? undefined : await createBenchLogins([PUBLISHER, SUBSCRIBER, CALLER, OPERATOR], { operators: [OPERATOR] });
const loginOf = (name: string): Partial<Login> => (logins === undefined ? {} : logins.login(name));
/** A client ID for `name`: `<principal>_<pid>` with a login (security.md §2.1). */
const clientIdOf = (name: string): string => `${logins === undefined ? name.replace(/-/g, '_') : name}_${process.pid}`;

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
        invokers: [devices]
        asyncConfiguration:
          maxAsyncQueueLength: 1000000
`,
  );
  const profile = values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']];
  const dataDir = logins === undefined ? join(dir, `data-${sync}`) : await logins.dataDir(`data-${sync}`);
  const args = [...profile, CLI, 'start', '--template', template, '--data', dataDir, '--store-sync', sync, '--skip-demo', '--log-level', 'warn'];
  if (logins === undefined) args.push('--insecure');
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

/** Raw QoS 1: `window` publishes in flight, done when the subscriber has received all of them; seconds. */
async function rawQos1(url: string): Promise<number> {
  const sub = await connectMqtt(url, { clientId: clientIdOf(SUBSCRIBER), ...loginOf(SUBSCRIBER) });
  const pub = await connectMqtt(url, { clientId: clientIdOf(PUBLISHER), ...loginOf(PUBLISHER) });
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
  return seconds;
}

/** Async calls the gateway under test answered "accepted", over all runs. */
let accepted = 0;

/** Async calls with `window` in flight; done when every one was answered "accepted"; seconds. */
async function asyncIntake(url: string): Promise<number> {
  const client = new FCClient({ brokerUrl: url, timeout: 60_000, ...loginOf(CALLER) });
  await client.connect();
  const payload = Buffer.alloc(64, 1);
  const send = (): Promise<void> =>
    client.invokeFunction({ serviceName: 'Bench', functionName: 'sink', invocationType: 'Async', payload }).then(() => {
      accepted += 1;
    });
  const seconds = await secondsFor(send);
  await client.close();
  return seconds;
}

/** Until the gateway has run every call it accepted (completed or failed, from its `stats`); seconds waited. */
async function drained(admin: AdminClient): Promise<number> {
  const started = performance.now();
  for (;;) {
    const stats = (await admin.call('stats')) as { functions: { service: string; function: string; completed: number; failed: number }[] };
    const sink = stats.functions.find((row) => row.service === 'Bench' && row.function === 'sink');
    if ((sink?.completed ?? 0) + (sink?.failed ?? 0) >= accepted) return (performance.now() - started) / 1000;
    if (performance.now() - started > 120_000) throw new Error(`the gateway did not run its ${accepted} accepted calls within 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** CPU µs each party spent: this process (the bench client), the gateway, its function processes. */
interface CpuUs {
  client: number;
  gateway: number;
  functions: number;
}

/** A side's runs, merged. */
class Side {
  seconds = 0;
  calls = 0;
  /** Async: until the calls had also run. */
  endToEndSeconds = 0;
  readonly cpu: CpuUs = { client: 0, gateway: 0, functions: 0 };

  /** Run once, adding its time and every party's CPU. */
  async add(gatewayPid: number, run: () => Promise<number>): Promise<void> {
    const client = process.cpuUsage();
    const gateway = processCpuUs(gatewayPid);
    // Function processes started or replaced during a run are missed; with one instance kept warm there are none.
    const functions = childrenUsage(gatewayPid).cpuUs;
    this.seconds += await run();
    this.calls += CALLS;
    const clientUsed = process.cpuUsage(client);
    this.cpu.client += clientUsed.user + clientUsed.system;
    this.cpu.gateway += processCpuUs(gatewayPid) - gateway;
    this.cpu.functions += childrenUsage(gatewayPid).cpuUs - functions;
  }

  get perSecond(): number {
    return this.calls / this.seconds;
  }

  /** CPU µs per call, as text (/proc ticks of 10 ms: whole runs, not single calls). */
  cpuText(): string {
    const per = (us: number): string => (us / this.calls).toFixed(1);
    return `client ${per(this.cpu.client)}, gateway ${per(this.cpu.gateway)}, functions ${per(this.cpu.functions)}`;
  }
}

const dir = await mkdtemp(join(tmpdir(), 'edgefc-bench-intake-'));
const rows: { mode: string; raw: Side; async: Side }[] = [];
try {
  let port = 21883;
  for (const sync of values.modes.split(',')) {
    const { proc, url } = await startGateway(dir, sync, port++);
    const pid = proc.pid ?? 0;
    const admin = new AdminClient({ brokerUrl: url, timeoutMs: 10_000, ...loginOf(OPERATOR) });
    accepted = 0;
    try {
      await asyncIntake(url).catch(() => 0); // warm-up: instances started, JIT warm
      const raw = new Side();
      const intake = new Side();
      const runRaw = async (): Promise<void> => {
        await drained(admin);
        await raw.add(pid, () => rawQos1(url));
      };
      const runAsync = async (): Promise<void> => {
        await drained(admin);
        const before = intake.seconds;
        await intake.add(pid, () => asyncIntake(url));
        // Accepted, then until they have all run as well (the drain is not in the CPU figures).
        intake.endToEndSeconds += intake.seconds - before + (await drained(admin));
      };
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) await runRaw().then(runAsync);
        else await runAsync().then(runRaw);
      }
      rows.push({ mode: sync, raw, async: intake });
    } finally {
      await admin.close();
      await stopGateway(proc);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  await logins?.close();
}

const cpu = cpus();
console.log(`Async intake, ${CALLS} calls × ${ROUNDS} rounds, ${WINDOW} in flight, 64-byte events; broker: ${values.broker ?? 'embedded aedes'}`);
console.log(`machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} free), Node ${process.version}, ${process.platform}`);
console.log('store-sync  raw QoS 1 msg/s  Async accepted/s  ratio');
for (const row of rows) {
  const { raw, async: intake } = row;
  console.log(`${row.mode.padEnd(10)}  ${raw.perSecond.toFixed(0).padStart(15)}  ${intake.perSecond.toFixed(0).padStart(16)}  ${(intake.perSecond / raw.perSecond).toFixed(2).padStart(5)}`);
}
// Not table lines (bench/scenarios/async-intake.ts reads those): where the CPU went, and how fast
// calls were accepted and run.
for (const row of rows) console.log(`cpu µs/call, ${row.mode}: raw: ${row.raw.cpuText()}; Async: ${row.async.cpuText()}`);
for (const row of rows) {
  const endToEnd = row.async.calls / row.async.endToEndSeconds;
  console.log(`end to end (accepted and run), ${row.mode}: ${endToEnd.toFixed(0)} calls/s, ${(endToEnd / row.raw.perSecond).toFixed(2)}× raw`);
}
