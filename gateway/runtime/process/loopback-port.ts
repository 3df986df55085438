/**
 * Ports for custom runtime servers. Every instance gets its own free loopback port through
 * FC_SERVER_PORT, so two functions (or two instances of one) never collide on FC's default
 * 9000. The port is found by binding port 0 and closing it again: another process could take it
 * in the microseconds before the function binds it, in which case the server fails to start and
 * the call gets FunctionNotStarted; the next call tries another port.
 */
import { createServer, connect } from 'node:net';

export const LOOPBACK = '127.0.0.1';

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One TCP connect attempt; true when something accepted it. */
export function canConnect(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
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

export interface PortPollOptions {
  /**
   * The first waits between tries.
   * @default 1
   */
  minIntervalMs?: number;
  /**
   * The longest wait between tries, reached after 8 × this long.
   * @default 10
   */
  maxIntervalMs?: number;
}

/**
 * The wait before the next try after `elapsedMs` of trying: an eighth of the time waited so
 * far, kept between the min and max intervals. A server that binds t ms after spawn is seen at
 * most ~t/8 ms late: a compiled server binding at ~3 ms within ~1 ms, a Node.js one at ~40 ms
 * within 5 ms, where a fixed 10 ms interval added 5 ms on average and up to 10 (measured: a
 * Node.js echo server seen 4-6 ms sooner at p50, a C one 12 → 3 ms). The price is ~30 tries in
 * the first 100 ms instead of 10 (~60 µs of CPU each, ~2 ms in all); from 80 ms on it is one
 * try per 10 ms as before, so a server that never starts costs what it did.
 */
export function portPollDelayMs(elapsedMs: number, options: PortPollOptions = {}): number {
  const { minIntervalMs = 1, maxIntervalMs = 10 } = options;
  return Math.min(maxIntervalMs, Math.max(minIntervalMs, elapsedMs / 8));
}

/**
 * Poll until `port` accepts a connection. Resolves true when it does, false when `stop()`
 * says to give up (deadline passed, process exited). Tries at once, then after the waits of
 * portPollDelayMs: short at first, longer the longer the server takes.
 */
export async function waitForPort(port: number, stop: () => boolean, options: PortPollOptions = {}): Promise<boolean> {
  const started = performance.now();
  for (;;) {
    if (stop()) return false;
    if (await canConnect(port)) return true;
    if (stop()) return false;
    const delayMs = portPollDelayMs(performance.now() - started, options);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}
