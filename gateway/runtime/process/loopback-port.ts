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

/**
 * Poll until `port` accepts a connection. Resolves true when it does, false when `stop()`
 * says to give up (deadline passed, process exited). 10 ms between tries: a Node server binds
 * ~40 ms after spawn, so readiness is seen within one interval of it, at ~60 µs a try.
 */
export async function waitForPort(port: number, stop: () => boolean, intervalMs = 10): Promise<boolean> {
  for (;;) {
    if (stop()) return false;
    if (await canConnect(port)) return true;
    if (stop()) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
