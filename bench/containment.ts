/**
 * What containment costs (docs/runtime-node.md §10, docs/runtime-custom.md §5.1), measured on
 * the machine it runs on. Must run as root (staging chowns; the peer check needs another uid).
 *
 *   node dist/bench/containment.js [--runs 5]
 *
 * 1. Staging (gateway/containment/code-stager.ts): the sample functions, a 50 MB tree of 2,000
 *    files of 25 KB (node_modules-like) and one 50 MB file; a first stage (hash, copy, chown,
 *    rename), a restage of unchanged code (fingerprint), of the same content in new files
 *    (hash), and a first stage through the staging thread with the event loop's longest wait.
 * 2. The runtime API's peer check (runtime-api/peer-check.ts), per accepted connection, with the
 *    sockets this box has and with 1,000 and 5,000 more open.
 * 3. A Node.js spare taking on a function's user (child/adopt-function.ts): setgroups/setgid/setuid.
 * 4. A network namespace per process (`unshare -n`), the road not taken for custom web servers.
 */
import { spawn } from 'node:child_process';
import { cpSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareCodeRoot, stageCode } from '../gateway/containment/code-stager.js';
import { stageInThread } from '../gateway/containment/stage-thread.js';
import { checkLoopbackPeer } from '../gateway/runtime/runtime-api/peer-check.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UID = 2_100_000_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) * 0.99)] ?? Number.NaN;
}

async function timeStaging(label: string, dir: string, runs: number): Promise<void> {
  const first: number[] = [];
  const again: number[] = [];
  const touched: number[] = [];
  /** The same first stage through the staging thread, as the gateway runs it, and how long its event loop waited meanwhile. */
  const threaded: number[] = [];
  const stalls: number[] = [];
  let bytes = 0;
  let files = 0;
  for (let run = 0; run < runs; run += 1) {
    const data = await mkdtemp(join(tmpdir(), 'edgefc-bench-stage-'));
    const codeRoot = join(data, 'code');
    prepareCodeRoot(codeRoot);
    let started = performance.now();
    const staged = stageCode(dir, codeRoot, UID, UID);
    first.push(performance.now() - started);
    started = performance.now();
    stageCode(dir, codeRoot, UID, UID);
    again.push(performance.now() - started);
    // A fresh checkout of the same code: new inodes and times, same content (hash, no copy).
    const copy = join(data, 'checkout');
    cpSync(dir, copy, { recursive: true });
    started = performance.now();
    stageCode(copy, codeRoot, UID, UID);
    touched.push(performance.now() - started);
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    started = performance.now();
    await stageInThread([{ codeDir: dir, codeRoot, uid: UID + 2, gid: UID + 2 }]);
    threaded.push(performance.now() - started);
    loop.disable();
    stalls.push(loop.max / 1e6);
    bytes = staged.bytes;
    files = staged.files;
    await rm(data, { recursive: true, force: true });
  }
  console.log(
    `${label.padEnd(30)} ${String(files).padStart(5)} files ${(bytes / 1e6).toFixed(2).padStart(6)} MB | first ${median(first).toFixed(1).padStart(6)} ms | unchanged ${median(again).toFixed(1).padStart(5)} ms | same content ${median(touched).toFixed(1).padStart(5)} ms | first, in the thread ${median(threaded).toFixed(1).padStart(6)} ms, loop waited ≤ ${Math.max(...stalls).toFixed(1)} ms`,
  );
}

async function stagingScenarios(runs: number): Promise<void> {
  console.log('\n1. Staging code (p50s): a first stage copies; unchanged code is found by its lstat fingerprint; the same content in new files by its hash');
  const work = await mkdtemp(join(tmpdir(), 'edgefc-bench-code-'));
  try {
    const tree = join(work, 'tree');
    await mkdir(tree);
    const chunk = Buffer.alloc(25_000, 7);
    for (let d = 0; d < 100; d += 1) {
      const sub = join(tree, `pkg${d}`);
      await mkdir(sub);
      for (let f = 0; f < 20; f += 1) {
        chunk.writeUInt32LE(d * 100 + f, 0);
        await writeFile(join(sub, `file${f}.js`), chunk);
      }
    }
    const big = join(work, 'big');
    await mkdir(big);
    await writeFile(join(big, 'model.bin'), Buffer.alloc(50_000_000, 3));
    for (const name of ['helloworld', 'invoker', 'asynchello', 'custom-web', 'go-api']) {
      await timeStaging(`sample functions/${name}`, join(ROOT, 'functions', name), runs);
    }
    await timeStaging('50 MB: 2,000 files of 25 KB', tree, runs);
    await timeStaging('50 MB: one file', big, runs);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function peerCheckScenario(extraSockets: number, connections: number): Promise<void> {
  const holders: net.Socket[] = [];
  const sink = net.createServer((socket) => holders.push(socket));
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkPort = (sink.address() as net.AddressInfo).port;
  for (let i = 0; i < extraSockets; i += 1) {
    const socket = net.connect(sinkPort, '127.0.0.1');
    holders.push(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
  }
  const times: number[] = [];
  let refused = 0;
  /** The connecting process, known once spawned. */
  const peer: { pid?: number } = {};
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const started = performance.now();
    // The peer is a small separate process, as a go1 instance is: its few fds are what is walked.
    void checkLoopbackPeer(socket, { uid: process.getuid?.() ?? 0, pids: () => (peer.pid === undefined ? [] : [peer.pid]) }).then((verdict) => {
      times.push(performance.now() - started);
      if (!verdict.ok) refused += 1;
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const connect = `const net = require('node:net');
    (async () => {
      for (let i = 0; i < ${connections}; i += 1) {
        await new Promise((resolve) => net.connect(${port}, '127.0.0.1').on('close', resolve).on('error', resolve));
      }
    })();`;
  const client = spawn(process.execPath, ['-e', connect], { stdio: 'inherit' });
  if (client.pid !== undefined) peer.pid = client.pid;
  await new Promise((resolve) => client.once('exit', resolve));
  console.log(
    `${`+${extraSockets * 2} sockets open`.padEnd(24)} per connection p50 ${median(times).toFixed(2).padStart(6)} ms  p99 ${p99(times).toFixed(2).padStart(6)} ms  (${refused} of ${connections} refused: expect 0)`,
  );
  for (const socket of holders) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => sink.close(resolve));
}

function runProcess(command: string, args: string[], options: { uid?: number; gid?: number } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: 'ignore', ...options });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${command} exited ${String(code)}`))));
  });
}

async function processScenarios(runs: number): Promise<void> {
  console.log('\n3. Taking on a user in a spare (node: register a loader thread, then setgroups/setgid/setuid)');
  const script = `
    const { register } = require('node:module');
    register('data:text/javascript,export async function resolve(s,c,n){return n(s,c)}');
    setTimeout(() => {
      const t = performance.now();
      process.setgroups([]); process.setgid(${UID}); process.setuid(${UID});
      const us = (performance.now() - t) * 1000;
      const threads = require('node:fs').readdirSync('/proc/self/task');
      const switched = threads.filter((t) => require('node:fs').readFileSync('/proc/self/task/' + t + '/status', 'utf8').includes('Uid:\\t${UID}'));
      console.log(us.toFixed(0) + ' ' + switched.length + '/' + threads.length);
    }, 100);`;
  const results: string[] = [];
  for (let run = 0; run < runs; run += 1) {
    results.push(
      await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.on('error', reject);
        child.on('close', () => resolve(out.trim()));
      }),
    );
  }
  const micros = results.map((line) => Number(line.split(' ')[0]));
  console.log(`setuid at adoption p50 ${median(micros).toFixed(0)} µs; threads switched per run: ${results.map((line) => line.split(' ')[1]).join(', ')}`);

  console.log('\n4. A network namespace per process (spawn to exit)');
  for (const [label, command, args] of [
    ['/bin/true', '/bin/true', []],
    ['unshare -n /bin/true', 'unshare', ['-n', '/bin/true']],
    ['unshare -n, lo up, /bin/true', 'unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec /bin/true']],
  ] as const) {
    const times: number[] = [];
    try {
      for (let run = 0; run < runs * 6; run += 1) times.push(await runProcess(command, [...args]));
      console.log(`${label.padEnd(32)} p50 ${median(times).toFixed(2)} ms`);
    } catch (error) {
      console.log(`${label.padEnd(32)} not available: ${(error as Error).message}`);
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  if (process.getuid?.() !== 0) {
    console.error('containment bench: run as root (staging chowns files; setuid needs root)');
    process.exit(1);
  }
  await stagingScenarios(runs);
  console.log('\n2. Runtime API peer check (/proc/net/tcp uid + /proc/<pid>/fd inode), per connection');
  for (const extra of [0, 500, 2500]) await peerCheckScenario(extra, 200);
  await processScenarios(runs);
}

await main();
