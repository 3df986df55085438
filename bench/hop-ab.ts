/**
 * `node dist/bench/hop-ab.js [--vs DIR] [--rounds N] [--block N] [--bytes N]`: the function-process
 * hop as the gateway makes it (FunctionPool → NodeRuntime → a runner process running
 * functions/echo), interleaved in one process: per round, a block of sequential calls on each
 * side, alternating which goes first. Prints per call the time and the CPU (this process + the
 * child) of both, and the median ratio and spread.
 *
 * The other side is its floor, a bare round trip on the same channel (workers/channel-echo.ts: a
 * process that answers each record, no runner), which says what our hop costs above the
 * transport; or, with `--vs DIR`, the same hop of another build (a checkout with its own
 * `dist/`, e.g. `git worktree add ../base HEAD~1`, node_modules copied, built), which says what a
 * change to the hop gained. Results: BENCHMARKS.md, "Sync path, issue 14".
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Duplex } from 'node:stream';
import { FunctionChannel } from '../gateway/runtime/node/child/function-channel.js';
import { loadTemplate } from '../gateway/registry/load-template.js';
import type { Invocation, InvocationResult } from '../gateway/runtime/types.js';
import { PACKAGE_ROOT } from '../gateway/package-root.js';
import { processCpuUs } from './lib/proc.js';
import { ECHO_FUNCTION, echoFunction, writeTemplate } from './lib/templates.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    block: { type: 'string', default: '1000' },
    bytes: { type: 'string', default: '64' },
    vs: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const block = Number(values.block);
const event = Buffer.alloc(Number(values.bytes), 120);
const here = dirname(fileURLToPath(import.meta.url));

interface Side {
  name: string;
  pid: () => number;
  call: () => Promise<unknown>;
}

async function floorSide(): Promise<{ side: Side; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(here, 'workers', 'channel-echo.js')], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
  await once(child, 'spawn');
  let waiting: (() => void) | undefined;
  const channel = new FunctionChannel<object>(child.stdio[3] as Duplex, { onMessage: () => waiting?.() });
  let callId = 0;
  const call = (): Promise<unknown> =>
    new Promise<void>((done) => {
      waiting = done;
      channel.send({ type: 'invoke', callId: ++callId, requestId: 'V1StGXR8_Z5jdHi6B-myT', event, qualifier: 'LATEST', retryCount: 0 }, () => undefined);
    });
  return {
    side: { name: 'bare channel round trip', pid: () => child.pid ?? -1, call },
    stop: () => {
      channel.close();
      return Promise.resolve();
    },
  };
}

interface Pool {
  submit(invocation: Invocation): Promise<InvocationResult>;
  close(): Promise<void>;
}

/** The hop of the build at `root` (its dist/), or of this one. */
async function poolSide(root: string, name: string): Promise<{ side: Side; stop: () => Promise<void> }> {
  const { FunctionPool } = (await import(join(root, 'dist', 'gateway', 'runtime', 'function-pool.js'))) as typeof import('../gateway/runtime/function-pool.js');
  const { NodeRuntime } = (await import(join(root, 'dist', 'gateway', 'runtime', 'node', 'node-runtime.js'))) as typeof import('../gateway/runtime/node/node-runtime.js');
  let pid = -1;
  const runtime = new NodeRuntime({ onInstanceStart: (info) => (pid = info.pid) });
  // The bench's echo as a template declares it, read by the registry: its defaults, not a copy of them.
  const template = await loadTemplate(await writeTemplate([echoFunction(ECHO_FUNCTION, { instanceConcurrency: 1, maxInstances: 1 })]));
  const fn = template.functions[0];
  const service = template.services[0];
  if (fn === undefined || service === undefined) throw new Error('hop-ab: the echo template holds no function');
  const pool: Pool = new FunctionPool(runtime, {
    service,
    fn,
    identity: template.identity,
    brokerUrl: 'mqtt://127.0.0.1:1883',
    onLog: () => undefined,
  });
  let n = 0;
  const invocation = (): Invocation => ({
    requestId: `hop-${++n}`,
    invocationType: 'Sync',
    event,
    invokerContext: undefined,
    qualifier: '',
    deadline: Date.now() + 10_000,
  });
  const call = (): Promise<unknown> => pool.submit(invocation());
  await call();
  return { side: { name, pid: () => pid, call }, stop: () => pool.close() };
}

async function runBlock(side: Side): Promise<{ wallUs: number; cpuUs: number }> {
  const cpuBefore = process.cpuUsage();
  const childBefore = processCpuUs(side.pid());
  const started = performance.now();
  for (let i = 0; i < block; i++) await side.call();
  const wallUs = (performance.now() - started) * 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuUs = cpu.user + cpu.system + (processCpuUs(side.pid()) - childBefore);
  return { wallUs: wallUs / block, cpuUs: cpuUs / block };
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;
const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

const raw = values.vs === undefined ? await floorSide() : await poolSide(resolve(values.vs), `FunctionPool → NodeRuntime → echo of ${values.vs}`);
const ours = await poolSide(PACKAGE_ROOT, 'FunctionPool → NodeRuntime → echo');
try {
  await runBlock(raw.side);
  await runBlock(ours.side);
  const wall: number[] = [];
  const cpu: number[] = [];
  const abs = { rawWall: [] as number[], rawCpu: [] as number[], oursWall: [] as number[], oursCpu: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const rawFirst = round % 2 === 0;
    const a = rawFirst ? await runBlock(raw.side) : undefined;
    const b = await runBlock(ours.side);
    const a2 = a ?? (await runBlock(raw.side));
    wall.push(b.wallUs / a2.wallUs);
    cpu.push(b.cpuUs / a2.cpuUs);
    abs.rawWall.push(a2.wallUs);
    abs.rawCpu.push(a2.cpuUs);
    abs.oursWall.push(b.wallUs);
    abs.oursCpu.push(b.cpuUs);
  }
  console.log(`${ours.side.name} vs ${raw.side.name}, ${rounds} rounds of ${block} sequential calls, ${event.length} B:`);
  console.log(`  time per call: ${median(abs.oursWall).toFixed(1)} µs vs ${median(abs.rawWall).toFixed(1)} µs; median ratio ${median(wall).toFixed(2)}, spread ${spread(wall)}`);
  console.log(`  CPU per call (this process + child): ${median(abs.oursCpu).toFixed(1)} µs vs ${median(abs.rawCpu).toFixed(1)} µs; median ratio ${median(cpu).toFixed(2)}, spread ${spread(cpu)}`);
} finally {
  await raw.stop();
  await ours.stop();
}
