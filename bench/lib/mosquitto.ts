/**
 * The bench's Mosquitto: the one the tests use too (mosquitto-process.ts: loopback, a free port,
 * `set_tcp_nodelay true`, without which a QoS 1 request/reply costs ~88 ms, and
 * `max_queued_messages 10000`), plus the version for the results' machine line.
 */
import { execFileSync } from 'node:child_process';
import { findMosquitto, startMosquittoProcess } from './mosquitto-process.js';

export interface BenchMosquitto {
  url: string;
  port: number;
  pid: number;
  close(): Promise<void>;
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

export async function startMosquitto(): Promise<BenchMosquitto> {
  const bin = findMosquitto();
  if (bin === undefined) throw new Error('mosquitto not found (PATH, /usr/sbin): apt-get install -y mosquitto');
  const broker = await startMosquittoProcess(bin);
  return { url: broker.url, port: broker.port, pid: broker.process.pid ?? -1, close: () => broker.close() };
}
