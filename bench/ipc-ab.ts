/**
 * `node dist/bench/ipc-ab.js [--b json|advanced-string] [--rounds N] [--block N] [--batch N]
 * [--bytes N] [--aa]`: the function process hop alone, interleaved: Node's IPC channel as
 * gateway/runtime/node/ uses it (`serialization: 'advanced'`, V8 structured clone, raw
 * Buffers) as A, against B: `json` (Node's default channel, the bytes as base64) or
 * `advanced-string` (the advanced channel, each write one JSON string). Two forked echo
 * workers (workers/ipc-echo.ts); per round, a block of round trips on each, alternating which
 * goes first. `--batch N` sends N invoke messages as one array per round trip (the IPC
 * batcher's shape at N calls in flight). Prints the medians of the per-round ratios B/A (time
 * per message, and CPU per message, parent + child) and their spread; `--aa` runs A against A,
 * for the noise floor. Results: BENCHMARKS.md, "Sync path, issue 14".
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processCpuUs } from './lib/proc.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    block: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '1' },
    bytes: { type: 'string', default: '64' },
    aa: { type: 'boolean', default: false },
    b: { type: 'string', default: 'json' },
  },
});
const rounds = Number(values.rounds);
const block = Number(values.block);
const batch = Number(values.batch);
const event = Buffer.alloc(Number(values.bytes), 120);
const worker = join(dirname(fileURLToPath(import.meta.url)), 'workers', 'ipc-echo.js');

/** `advanced-string`: the advanced channel, each write one JSON string (bytes base64). */
type Mode = 'json' | 'advanced' | 'advanced-string';

async function start(mode: Mode): Promise<ChildProcess> {
  const child = fork(worker, [mode], { serialization: mode === 'json' ? 'json' : 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(child, 'spawn');
  return child;
}

let nextCallId = 0;
function invoke(mode: Mode): Record<string, unknown> {
  nextCallId += 1;
  return {
    type: 'invoke',
    callId: nextCallId,
    requestId: 'V1StGXR8_Z5jdHi6B-myT',
    event: mode === 'advanced' ? event : event.toString('base64'),
    qualifier: 'LATEST',
    retryCount: 0,
    trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  };
}

/** `block` round trips of `batch` messages; returns µs of wall time and of CPU per message. */
async function runBlock(child: ChildProcess, mode: Mode): Promise<{ wallUs: number; cpuUs: number }> {
  const cpuBefore = process.cpuUsage();
  const childBefore = processCpuUs(child.pid ?? -1);
  const started = performance.now();
  for (let i = 0; i < block; i++) {
    const messages = Array.from({ length: batch }, () => invoke(mode));
    const reply = once(child, 'message');
    const out = batch === 1 ? (messages[0] as Record<string, unknown>) : messages;
    child.send(mode === 'advanced-string' ? JSON.stringify(out) : out);
    const [raw] = (await reply) as [unknown];
    const payload: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
    const replies = Array.isArray(payload) ? payload : [payload];
    for (const result of replies as { payload: Buffer | string }[]) {
      if (typeof result.payload === 'string') Buffer.from(result.payload, 'base64');
    }
  }
  const wallUs = (performance.now() - started) * 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuUs = cpu.user + cpu.system + (processCpuUs(child.pid ?? -1) - childBefore);
  return { wallUs: wallUs / (block * batch), cpuUs: cpuUs / (block * batch) };
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;

const modeA: Mode = 'advanced';
const modeB: Mode = values.aa ? 'advanced' : (values.b as Mode);
const a = await start(modeA);
const b = await start(modeB);
try {
  await runBlock(a, modeA);
  await runBlock(b, modeB);
  const wall: number[] = [];
  const cpu: number[] = [];
  const abs = { a: [] as number[], b: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const first = round % 2 === 0;
    const ra = first ? await runBlock(a, modeA) : undefined;
    const rb = await runBlock(b, modeB);
    const ra2 = ra ?? (await runBlock(a, modeA));
    wall.push(rb.wallUs / ra2.wallUs);
    cpu.push(rb.cpuUs / ra2.cpuUs);
    abs.a.push(ra2.cpuUs);
    abs.b.push(rb.cpuUs);
  }
  const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
  console.log(`${modeB}/${modeA}, ${rounds} rounds of ${block} round trips, ${batch} message(s) of ${event.length} B each:`);
  console.log(`  time per message: median ratio ${median(wall).toFixed(3)}, spread ${spread(wall)}`);
  console.log(`  CPU per message (parent + child): median ratio ${median(cpu).toFixed(3)}, spread ${spread(cpu)}; ${modeA} ${median(abs.a).toFixed(1)} µs, ${modeB} ${median(abs.b).toFixed(1)} µs`);
} finally {
  a.disconnect();
  b.disconnect();
}
