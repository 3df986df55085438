/**
 * The "process start" baseline of scenario 4: how long a function's own program takes to get
 * ready with no gateway involved, timed in the bench process. It spawns exactly what the
 * gateway would (gateway/runtime/process/function-launch.ts: same command, arguments and
 * environment, a fresh free port) through the same ManagedProcess (own process group, piped
 * output, memory watchdog), and stops the clock when the program is ready:
 *   - custom web server: its FC_SERVER_PORT accepts a TCP connection, tried every 1 ms (the
 *     gateway tries less often, to keep its CPU down; that difference is part of what the
 *     first call adds over this baseline);
 *   - go1: its first `GET .../invocation/next` reaches a runtime API server of the bench's,
 *     which never answers it: readiness is an event here, as in the gateway, not a poll.
 * A first call's time minus this is what the gateway adds: finding out the program is ready,
 * the MQTT round trip and the call itself.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadTemplate } from '../../gateway/registry/load-template.js';
import { webServerLaunch, runtimeApiLaunch, type FunctionLaunch } from '../../gateway/runtime/process/function-launch.js';
import { LOOPBACK, canConnect, freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { ManagedProcess, describeExit } from '../../gateway/runtime/process/managed-process.js';
import { DEFAULT_WATCHDOG_INTERVAL_MS } from '../../gateway/runtime/process/memory-watchdog.js';
import { API_PREFIX } from '../../gateway/runtime/runtime-api/runtime-api-instance.js';
import type { InstanceConfig } from '../../gateway/runtime/types.js';

/** One sample: ms from spawn to ready. Rejects when the program exits or is not ready in time. */
export type ProcessStartProbe = (config: InstanceConfig) => Promise<number>;

/** The gateway's own bound on an instance start (ProcessRuntimeOptions.startTimeoutMs). */
const START_LIMIT_MS = 10_000;
/** Between connect attempts: as tight as a Node timer goes; each try costs ~60 µs of CPU. */
const POLL_MS = 1;
const PROBE_INSTANCE_ID = 'bench-process-start';

/**
 * The InstanceConfig the gateway builds for `functionName` of the template it was started with,
 * so the environment matches to the variable (broker URL included).
 */
export async function instanceConfigFor(templatePath: string, serviceName: string, functionName: string, brokerUrl: string): Promise<InstanceConfig> {
  const template = await loadTemplate(templatePath);
  const fn = template.functions.find((candidate) => candidate.serviceName === serviceName && candidate.name === functionName);
  const service = template.services.find((candidate) => candidate.name === serviceName);
  if (fn === undefined || service === undefined) throw new Error(`${serviceName}/${functionName} is not in ${templatePath}`);
  return { service, fn, identity: template.identity, brokerUrl, onLog: () => undefined };
}

/** Custom runtime web server: spawn → FC_SERVER_PORT accepts a connection. */
export const webServerStart: ProcessStartProbe = async (config) => {
  const port = await freeLoopbackPort();
  return timeStart(config, webServerLaunch(config, PROBE_INSTANCE_ID, port), async (proc, givenUp) => {
    while (!givenUp()) {
      if (await canConnect(port)) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(notReady(proc, `port ${port} did not accept a connection`));
  });
};

/** go1: spawn → the first `GET /2020-11-11/runtime/invocation/next`. */
export const runtimeApiStart: ProcessStartProbe = async (config) => {
  let markPolled!: () => void;
  const polled = new Promise<void>((resolve) => {
    markPolled = resolve;
  });
  // Held open, never answered: the process is killed once it has asked.
  const server = http.createServer((req) => {
    if (req.method === 'GET' && req.url === `${API_PREFIX}/next`) markPolled();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  try {
    return await timeStart(config, runtimeApiLaunch(config, PROBE_INSTANCE_ID, port), async (proc) => {
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        polled.then(() => 'polled' as const),
        proc.exited.then(() => 'exited' as const),
        new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), START_LIMIT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (outcome !== 'polled') throw new Error(notReady(proc, `no GET ${API_PREFIX}/next`));
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
};

/**
 * Spawn `launch`, wait for `ready`, and return the ms in between; the process group is killed
 * whatever happens. `givenUp()` turns true when the program exited or START_LIMIT_MS passed.
 */
async function timeStart(
  config: InstanceConfig,
  launch: FunctionLaunch,
  ready: (proc: ManagedProcess, givenUp: () => boolean) => Promise<void>,
): Promise<number> {
  const started = performance.now();
  const proc = new ManagedProcess({
    ...launch,
    config,
    watchdogIntervalMs: DEFAULT_WATCHDOG_INTERVAL_MS,
    attribute: () => '',
    onMemoryExceeded: () => undefined,
  });
  try {
    await ready(proc, () => proc.exit !== undefined || performance.now() - started > START_LIMIT_MS);
    return performance.now() - started;
  } finally {
    await proc.terminate(0);
  }
}

function notReady(proc: ManagedProcess, what: string): string {
  const exit = proc.exit;
  return exit === undefined ? `${what} within ${START_LIMIT_MS} ms` : `${what}: the process ended first (${describeExit(exit)})`;
}
