/**
 * A spawned Mosquitto on loopback, configured like the README's recommended gateway broker. Dev
 * only: the bench (bench/lib/mosquitto.ts) and the test fixtures (test/fixtures/brokers.ts) both
 * start theirs here. It lives under bench/ because bench/ is compiled with the product and must
 * not import from test/, while the tests may import from bench/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, LOOPBACK, waitForPort } from '../../gateway/runtime/process/loopback-port.js';
import { findExecutable } from './find-executable.js';

export interface MosquittoProcess {
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Everything Mosquitto wrote to stderr so far (its log; the last 64 KiB). */
  log(): string;
  /** Stops it (SIGTERM, SIGKILL after 2 s) and removes its config; safe to call twice. */
  close(): Promise<void>;
}

export interface MosquittoProcessOptions {
  /**
   * This port exactly (to restart a broker where its clients expect it). Without it a free port
   * is picked, and another one tried if a different process takes it before Mosquitto binds it.
   */
  port?: number;
  /**
   * Log connects and disconnects too (`log_type notice`), for reading after a failed test.
   * @default false
   */
  notices?: boolean;
  /**
   * Run with this config file instead (it must listen on `port`, which is then required); it is
   * not removed at close. For tests of a generated config (edgefc broker-config mosquitto).
   */
  configFile?: string;
}

/** The mosquitto binary (PATH, /usr/sbin, …), or undefined when it is not installed. */
export function findMosquitto(): string | undefined {
  return findExecutable('mosquitto');
}

/** Live Mosquitto processes of this process, killed if it exits without closing them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

const STARTUP_TIMEOUT_MS = 5_000;

/** Spawn `bin -c <tmp conf>` and resolve once it accepts TCP connections. */
export async function startMosquittoProcess(bin: string, options: MosquittoProcessOptions = {}): Promise<MosquittoProcess> {
  if (options.configFile !== undefined && options.port === undefined) throw new Error('startMosquittoProcess: configFile needs the port it listens on');
  if (options.port !== undefined) return startOnce(bin, options.port, options.notices === true, options.configFile);
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(bin, await freeLoopbackPort(), options.notices === true);
    } catch (error) {
      lastError = error as Error;
      if (!/Address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('mosquitto did not start');
}

async function startOnce(bin: string, port: number, notices: boolean, configFile?: string): Promise<MosquittoProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'edgefc-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} ${LOOPBACK}`,
      'allow_anonymous true',
      // See src/mqtt/tcp-nodelay.ts: ~88 ms per QoS 1 request/reply without it.
      'set_tcp_nodelay true',
      // As README recommends for a gateway's broker: Mosquitto's default of 1,000 queued QoS 1
      // messages per client silently drops replies to a client with more calls in flight
      // (measured: 1,126 of 5,000 flood replies delivered at the default).
      'max_queued_messages 10000',
      // As the embedded broker (docs/protocol.md §7.6): a larger packet is refused, not buffered.
      'max_packet_size 7340032',
      // The bench connects 500 clients and more: the default is unlimited, but be explicit.
      'max_connections -1',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      ...(notices ? ['log_type notice'] : []),
      '',
    ].join('\n'),
  );
  const child = spawn(bin, ['-c', configFile ?? conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-65_536);
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
  });
  const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const stop = async (): Promise<void> => {
    if (!hasExited()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  // Startup takes ~10-50 ms; waitForPort tries at once, then every 1-10 ms.
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  if (!(await waitForPort(port, () => hasExited() || Date.now() > deadline))) {
    const error = new Error(
      hasExited()
        ? `mosquitto exited during startup (code ${child.exitCode}): ${stderr}`
        : `mosquitto did not accept connections on port ${port} within ${STARTUP_TIMEOUT_MS} ms: ${stderr}`,
    );
    await stop();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${LOOPBACK}:${port}`,
    port,
    process: child,
    log: () => stderr,
    close: () => (closing ??= stop()),
  };
}
