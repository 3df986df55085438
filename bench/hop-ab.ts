/**
 * `node dist/bench/hop-ab.js [--rounds N] [--block N] [--bytes N]`: the function-process hop as
 * the gateway makes it (FunctionPool → NodeRuntime → a forked runner running functions/echo),
 * against its floor, a bare round trip on the same IPC channel (workers/ipc-echo.ts, advanced
 * serialization), interleaved in one process: per round, a block of sequential calls on each,
 * alternating which goes first. Prints per call the time and the CPU (this process + the child)
 * of both, and the median ratio and spread: what our hop costs above Node's IPC. Results:
 * BENCHMARKS.md, "Sync path, issue 14".
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FunctionPool } from '../gateway/runtime/function-pool.js';
import { NodeRuntime } from '../gateway/runtime/node/node-runtime.js';
import type { Invocation } from '../gateway/runtime/types.js';
import { PACKAGE_ROOT } from '../gateway/package-root.js';
import { processCpuUs } from './lib/proc.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    block: { type: 'string', default: '1000' },
    bytes: { type: 'string', default: '64' },
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

async function rawSide(): Promise<{ side: Side; stop: () => void }> {
  const child: ChildProcess = fork(join(here, 'workers', 'ipc-echo.js'), ['advanced'], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(child, 'spawn');
  let callId = 0;
  const call = async (): Promise<unknown> => {
    const reply = once(child, 'message');
    child.send({ type: 'invoke', callId: ++callId, requestId: 'V1StGXR8_Z5jdHi6B-myT', event, qualifier: 'LATEST', retryCount: 0 });
    return reply;
  };
  return { side: { name: 'bare IPC round trip', pid: () => child.pid ?? -1, call }, stop: () => child.disconnect() };
}

async function poolSide(): Promise<{ side: Side; stop: () => Promise<void> }> {
  let pid = -1;
  const runtime = new NodeRuntime({ onInstanceStart: (info) => (pid = info.pid) });
  const pool = new FunctionPool(runtime, {
    service: { name: 'Bench', description: '', logProject: '', logStore: '', qualifier: 'LATEST', versionId: '' },
    fn: {
      serviceName: 'Bench',
      name: 'echo',
      description: '',
      runtime: 'nodejs20',
      handler: 'index.handler',
      codeDir: join(PACKAGE_ROOT, 'functions', 'echo'),
      memorySizeMB: 128,
      timeoutMs: 10_000,
      initializer: undefined,
      initializationTimeoutMs: 3_000,
      instanceConcurrency: 1,
      maxInstances: 1,
      maxQueueLength: 10,
      environmentVariables: {},
    },
    identity: { region: 'local', accountId: '0', credentials: { accessKeyId: '', accessKeySecret: '', securityToken: '' } },
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
  return { side: { name: 'FunctionPool → NodeRuntime → echo', pid: () => pid, call }, stop: () => pool.close() };
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

const raw = await rawSide();
const ours = await poolSide();
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
  raw.stop();
  await ours.stop();
}
