/**
 * How the gateway finds out that a custom runtime server is listening (process/loopback-port.ts):
 * the poll schedule, and waitForPort against a real server that starts listening mid-poll.
 * Readiness is driven by the `stop()` callback, which runs once per try: no sleeps, no timings.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LOOPBACK, freeLoopbackPort, portPollDelayMs, waitForPort } from '../../gateway/runtime/process/loopback-port.js';

describe('portPollDelayMs', () => {
  it('waits 1 ms at first, an eighth of the time waited later, at most 10 ms', () => {
    expect(portPollDelayMs(0)).toBe(1);
    expect(portPollDelayMs(8)).toBe(1);
    expect(portPollDelayMs(40)).toBe(5);
    expect(portPollDelayMs(80)).toBe(10);
    expect(portPollDelayMs(10_000)).toBe(10);
  });

  it('keeps to the intervals it is given', () => {
    expect(portPollDelayMs(0, { minIntervalMs: 5 })).toBe(5);
    expect(portPollDelayMs(10_000, { maxIntervalMs: 50 })).toBe(50);
  });
});

describe('waitForPort', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server?.listening === true ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  it('resolves true once a server that was not there yet accepts a connection', async () => {
    const port = await freeLoopbackPort();
    const listening = createServer();
    server = listening;
    let checks = 0;
    const found = await waitForPort(port, () => {
      checks += 1;
      // Two checks per try: the server appears after the second refused try.
      if (checks === 4) listening.listen(port, LOOPBACK);
      return false;
    });
    expect(found).toBe(true);
    expect(checks).toBeGreaterThan(4);
  });

  it('resolves false as soon as stop() says so', async () => {
    const port = await freeLoopbackPort();
    let checks = 0;
    const found = await waitForPort(port, () => ++checks >= 3);
    expect(found).toBe(false);
    expect(checks).toBe(3);
  });
});
