/**
 * Async intake, A/B of two built checkouts, paired and interleaved (issue 14): for a box so
 * loaded by others that two runs of bench/async-intake.ts minutes apart differ by 2×.
 *
 *   node dist/bench/async-intake-pair.js DIR_A DIR_B [--blocks 30] [--calls 2000] [--window 256]
 *     [--sync full] [--client-b] [--one-gateway] [--sync-probe]
 *
 * DIR_A and DIR_B are built checkouts (`npm run build`; a copy of `dist/`, `src/dist/`, `bin/`,
 * `functions/` and `node_modules/` will do). A gateway of each runs side by side, authentication
 * on; this process sends blocks of `calls` Async calls (`window` in flight, 64-byte events) to
 * them in turn (ABBA), each block once its gateway has run every call it accepted, and pairs
 * block i of A with block i of B, so a burst of someone else's load lands on both sides of a
 * pair. Per block: calls accepted per second, accepted and run per second, and CPU per call of
 * this process (the client), the gateway process (its main thread, the store's writer thread,
 * V8's helper threads: "other threads"), and its function processes (from /proc, 10 ms ticks).
 * It prints each pair and the median and range of the B/A ratios; run it with DIR_A twice first
 * (A/A) for the noise floor.
 *
 * - `--client-b`: the client of side B is DIR_B's SDK (default: DIR_A's for both sides).
 * - `--one-gateway`: both sides send to DIR_A's gateway (a change to the SDK alone).
 * - `--sync-probe`: during each block a separate process calls an echo function Sync, one at a
 *   time, with that side's SDK; its p50 says whether the Async flood starves Sync calls.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { FCClient } from 'edgefc';
import type { AdminClient } from '../gateway/cli/admin-client.js';
import { createBenchLogins } from './lib/bench-logins.js';
import { childrenUsage, processCpuUs } from './lib/proc.js';
import { median } from './lib/median.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    blocks: { type: 'string', default: '30' },
    calls: { type: 'string', default: '2000' },
    window: { type: 'string', default: '256' },
    sync: { type: 'string', default: 'full' },
    'client-b': { type: 'boolean', default: false },
    'one-gateway': { type: 'boolean', default: false },
    'sync-probe': { type: 'boolean', default: false },
  },
});
const [dirA, dirB] = positionals.map((dir) => resolve(dir));
if (dirA === undefined || dirB === undefined) throw new Error('usage: async-intake-pair.js DIR_A DIR_B [options]');
const CALLS = Number(values.calls);
const WINDOW = Number(values.window);
const PROBE = fileURLToPath(new URL('./lib/sync-probe.js', import.meta.url));

type FCClientClass = typeof FCClient;
type AdminClientClass = typeof AdminClient;
const sdkOf = async (dir: string): Promise<FCClientClass> => ((await import(join(dir, 'src', 'dist', 'index.js'))) as { FCClient: FCClientClass }).FCClient;
const { AdminClient: Admin } = (await import(join(dirA, 'dist', 'gateway', 'cli', 'admin-client.js'))) as { AdminClient: AdminClientClass };

const CALLER = 'b-pair-async';
const OPERATOR = 'b-pair-admin';
const PROBER = 'b-pair-sync';
const logins = await createBenchLogins([CALLER, OPERATOR, PROBER], { operators: [OPERATOR] });
const dir = await mkdtemp(join(tmpdir(), 'edgefc-bench-pair-'));
const template = join(dir, 'template.yml');
const echo = JSON.stringify(join(dirA, 'functions', 'echo'));
await writeFile(
  template,
  `edgefc: 1
services:
  Bench:
    functions:
      sink:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${echo}
        maxInstances: 1
        instanceConcurrency: 16
        invokers: [devices]
        asyncConfiguration:
          maxAsyncQueueLength: 1000000
      echo:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${echo}
        maxInstances: 1
        instanceConcurrency: 4
        invokers: [devices]
`,
);

interface Gateway {
  root: string;
  proc: ChildProcess;
  pid: number;
  url: string;
  admin: AdminClient;
  accepted: number;
}

async function startGateway(root: string, name: string, port: number): Promise<Gateway> {
  const dataDir = await logins.dataDir(`data-${name}`);
  const args = [join(root, 'bin', 'edgefc.js'), 'start', '--template', template, '--data', dataDir, '--store-sync', values.sync, '--skip-demo', '--log-level', 'warn', '--port', String(port)];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((ready, fail) => {
    let out = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready on (\S+)/.exec(out);
      if (match?.[1] !== undefined) ready(match[1]);
    });
    proc.once('exit', (code) => fail(new Error(`gateway ${name} exited (${code})`)));
  });
  const admin = new Admin({ brokerUrl: url, timeoutMs: 10_000, ...logins.login(OPERATOR) });
  return { root, proc, pid: proc.pid ?? 0, url, admin, accepted: 0 };
}

/** Until the gateway has run every call it accepted (its `stats`). */
async function drained(gateway: Gateway): Promise<void> {
  const started = performance.now();
  for (;;) {
    const stats = (await gateway.admin.call('stats')) as { functions: { function: string; completed: number; failed: number }[] };
    const sink = stats.functions.find((row) => row.function === 'sink');
    if ((sink?.completed ?? 0) + (sink?.failed ?? 0) >= gateway.accepted) return;
    if (performance.now() - started > 120_000) throw new Error(`the gateway did not run its ${gateway.accepted} calls within 120 s`);
    await new Promise((wake) => setTimeout(wake, 10));
  }
}

/** CPU µs of a process's threads but its main one (the store's writer thread, V8's and libuv's helpers). */
function otherThreadsCpuUs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (Number(tid) === pid) continue;
    try {
      const fields = (readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * 10_000;
    } catch {
      // the thread ended meanwhile
    }
  }
  return total;
}

/** A Sync caller in a process of its own, one call at a time; latencies (ms) of the calls that ended before stop(). */
async function startProbe(gateway: Gateway, sdk: string): Promise<{ stop: () => Promise<number[]> }> {
  const { username, password } = logins.login(PROBER);
  const child = spawn(process.execPath, [PROBE, sdk, gateway.url, username], { env: { ...process.env, PROBE_PASSWORD: password }, stdio: ['ignore', 'pipe', 'inherit'] });
  const latencies: number[] = [];
  let collecting = true;
  let rest = '';
  await new Promise<void>((ready) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') ready();
        else if (collecting) latencies.push(Number(line));
      }
    });
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    stop: async () => {
      collecting = false;
      child.kill('SIGTERM');
      await exited;
      return latencies;
    },
  };
}

interface Block {
  acceptedPerSecond: number;
  endToEndPerSecond: number;
  clientUs: number;
  gatewayUs: number;
  otherThreadsUs: number;
  functionsUs: number;
  syncP50Ms: number;
  load: string;
}

async function runBlock(gateway: Gateway, FC: FCClientClass, sdk: string): Promise<Block> {
  const client = new FC({ brokerUrl: gateway.url, timeout: 60_000, ...logins.login(CALLER) });
  await client.connect();
  await drained(gateway);
  const probe = values['sync-probe'] ? await startProbe(gateway, sdk) : undefined;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
  const payload = Buffer.alloc(64, 1);
  const cpu = process.cpuUsage();
  const gatewayCpu = processCpuUs(gateway.pid);
  const threadsCpu = otherThreadsCpuUs(gateway.pid);
  const functionsCpu = childrenUsage(gateway.pid).cpuUs;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: WINDOW }, async () => {
      while (next < CALLS) {
        next += 1;
        await client.invokeFunction({ serviceName: 'Bench', functionName: 'sink', invocationType: 'Async', payload });
        gateway.accepted += 1;
      }
    }),
  );
  const acceptedAt = performance.now();
  const latencies = (await probe?.stop()) ?? [];
  await drained(gateway);
  const ranAt = performance.now();
  const clientCpu = process.cpuUsage(cpu);
  await client.close();
  latencies.sort((a, b) => a - b);
  return {
    acceptedPerSecond: CALLS / ((acceptedAt - started) / 1000),
    endToEndPerSecond: CALLS / ((ranAt - started) / 1000),
    clientUs: (clientCpu.user + clientCpu.system) / CALLS,
    gatewayUs: (processCpuUs(gateway.pid) - gatewayCpu) / CALLS,
    otherThreadsUs: (otherThreadsCpuUs(gateway.pid) - threadsCpu) / CALLS,
    functionsUs: (childrenUsage(gateway.pid).cpuUs - functionsCpu) / CALLS,
    syncP50Ms: latencies[Math.floor(latencies.length / 2)] ?? Number.NaN,
    load,
  };
}


const gatewayA = await startGateway(dirA, 'a', 23_883);
const gatewayB = values['one-gateway'] ? gatewayA : await startGateway(dirB, 'b', 24_883);
const sdkA = join(dirA, 'src', 'dist', 'index.js');
const sdkB = values['client-b'] ? join(dirB, 'src', 'dist', 'index.js') : sdkA;
const sides = {
  A: { gateway: gatewayA, FC: await sdkOf(dirA), sdk: sdkA, blocks: [] as Block[] },
  B: { gateway: gatewayB, FC: values['client-b'] ? await sdkOf(dirB) : await sdkOf(dirA), sdk: sdkB, blocks: [] as Block[] },
};
try {
  // Warm-up: instances started, JIT warm, the writer threads running.
  for (const side of Object.values(sides)) await runBlock(side.gateway, side.FC, side.sdk);
  for (let pair = 0; pair < Number(values.blocks); pair++) {
    const order = pair % 4 === 0 || pair % 4 === 3 ? (['A', 'B'] as const) : (['B', 'A'] as const);
    for (const name of order) sides[name].blocks.push(await runBlock(sides[name].gateway, sides[name].FC, sides[name].sdk));
    const a = sides.A.blocks[pair];
    const b = sides.B.blocks[pair];
    if (a === undefined || b === undefined) continue;
    const cpuText = (x: Block): string => `client ${x.clientUs.toFixed(1)} gateway ${x.gatewayUs.toFixed(1)} (other threads ${x.otherThreadsUs.toFixed(1)}) functions ${x.functionsUs.toFixed(1)}`;
    console.log(
      `pair ${pair}: accepted/s A ${a.acceptedPerSecond.toFixed(0)} B ${b.acceptedPerSecond.toFixed(0)}; CPU µs/call A ${cpuText(a)}, B ${cpuText(b)}` +
        `${values['sync-probe'] ? `; Sync p50 ms A ${a.syncP50Ms.toFixed(2)} B ${b.syncP50Ms.toFixed(2)}` : ''}; load ${a.load}/${b.load}`,
    );
  }
  const ratios = (label: string, of: (x: Block) => number): void => {
    const r = sides.A.blocks.map((a, i) => of(sides.B.blocks[i] ?? a) / of(a)).filter(Number.isFinite);
    console.log(`${label}: B/A median ${median(r).toFixed(3)}, range ${Math.min(...r).toFixed(3)}-${Math.max(...r).toFixed(3)}, pairs ${r.length}; A median ${median(sides.A.blocks.map(of)).toFixed(1)}, B median ${median(sides.B.blocks.map(of)).toFixed(1)}`);
  };
  ratios('Async accepted/s', (x) => x.acceptedPerSecond);
  ratios('accepted and run/s', (x) => x.endToEndPerSecond);
  ratios('CPU µs per call, all parties', (x) => x.clientUs + x.gatewayUs + x.functionsUs);
  ratios('CPU µs per call, client', (x) => x.clientUs);
  ratios('CPU µs per call, gateway', (x) => x.gatewayUs);
  ratios('CPU µs per call, gateway threads but the main one', (x) => x.otherThreadsUs);
  ratios('CPU µs per call, functions', (x) => x.functionsUs);
  if (values['sync-probe']) ratios('Sync p50 ms during the flood', (x) => x.syncP50Ms);
} finally {
  for (const gateway of new Set([gatewayA, gatewayB])) {
    await gateway.admin.close();
    const exited = new Promise<void>((done) => gateway.proc.once('exit', () => done()));
    gateway.proc.kill('SIGTERM');
    await exited;
  }
  await logins.close();
}
