/**
 * A Mosquitto for the bench, configured like test/fixtures/brokers.ts and the README's
 * recommended gateway broker: loopback, a free port, `set_tcp_nodelay true` (without it a QoS 1
 * request/reply costs ~88 ms: src/mqtt/tcp-nodelay.ts) and `max_queued_messages 10000`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface BenchMosquitto {
  url: string;
  port: number;
  pid: number;
  close(): Promise<void>;
}

export function findMosquitto(): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'mosquitto');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** "mosquitto version 2.0.11", or undefined when it is not installed. */
export function mosquittoVersion(): string | undefined {
  const bin = findMosquitto();
  if (bin === undefined) return undefined;
  try {
    // `mosquitto -h` prints its usage (version first) and exits 3.
    return execFileSync(bin, ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0];
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout ?? '';
    return stdout.split('\n')[0]?.trim() || undefined;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from the OS');
  return address.port;
}

export async function startMosquitto(): Promise<BenchMosquitto> {
  const bin = findMosquitto();
  if (bin === undefined) throw new Error('mosquitto not found (PATH, /usr/sbin): apt-get install -y mosquitto');
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(bin, await freePort());
    } catch (error) {
      lastError = error as Error;
      if (!/Address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('mosquitto did not start');
}

async function startOnce(bin: string, port: number): Promise<BenchMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'edgefc-bench-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'max_queued_messages 10000',
      // 500 clients and more: the default is unlimited, but be explicit.
      'max_connections -1',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-16_384);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', kill);
  const stop = async (): Promise<void> => {
    process.off('exit', kill);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 5_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`mosquitto exited during startup: ${stderr}`);
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not listen on ${port} within 5 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  let closing: Promise<void> | undefined;
  return { url: `mqtt://127.0.0.1:${port}`, port, pid: child.pid ?? -1, close: () => (closing ??= stop()) };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
