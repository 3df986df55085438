/**
 * A nats-server cluster on loopback: N nodes, JetStream on (store directories in a temp dir), an
 * MQTT listener on each, and the authorization block given (what `edgefc broker-config nats`
 * writes). Dev only: the test fixtures (test/fixtures/nats-cluster.ts) and the bench start theirs
 * here; it lives under bench/ for the reason bench/lib/mosquitto-process.ts does.
 *
 * Ports are found free at runtime; a killed node restarts on the same ports and store, as a
 * rebooted box would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, LOOPBACK, waitForPort } from '../../gateway/runtime/process/loopback-port.js';
import { findExecutable } from './find-executable.js';

export interface NatsNode {
  readonly name: string;
  /** `nats://127.0.0.1:<port>`: what gateways connect to. */
  readonly natsUrl: string;
  /** `mqtt://127.0.0.1:<port>`: what devices connect to. */
  readonly mqttUrl: string;
  readonly ports: { client: number; cluster: number; mqtt: number; http: number };
  /** The running process; undefined while the node is down. */
  readonly process: ChildProcess | undefined;
  /** The last 64 KiB of its log (stderr). */
  log(): string;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's NATS URL, comma-separated, as `--nats` takes them. */
  readonly natsUrls: string[];
  /** kill -9 one node. */
  kill(index: number): Promise<void>;
  /** Start a killed node again, on its ports and store; resolves when it is healthy. */
  restart(index: number): Promise<void>;
  /** The names of the client connections every running node holds now (monitoring /connz). */
  connectionNames(): Promise<string[]>;
  /** The index of the running node holding a client connection whose name ends with `suffix`. */
  nodeOf(suffix: string): Promise<number | undefined>;
  /**
   * Replace every node's authorization.conf and have each running node reload it (SIGHUP), as an
   * operator does after `edgefc users` and `edgefc broker-config nats` (docs/security.md §11).
   */
  reloadAuthorization(authorization: string): Promise<void>;
  /** Resolve when every running node reports healthy (JetStream current), within `timeoutMs`. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Stop every node and remove the temp directory; safe to call twice. */
  close(): Promise<void>;
}

export interface NatsClusterOptions {
  /** @default 3 */
  size?: number;
  /** The `authorization { … }` block (nats-server config syntax), included by every node. */
  authorization: string;
}

/** The nats-server binary (PATH, /usr/sbin, …), or undefined when it is not installed. */
export function findNatsServer(): string | undefined {
  return findExecutable('nats-server');
}

/** Live nats-server processes of this process, killed if it exits without closing them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

interface NodeState {
  name: string;
  ports: NatsNode['ports'];
  conf: string;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  stderr: string;
  /** Killed on purpose (`kill`) and not restarted: not running is expected, not an error. */
  down: boolean;
}

/**
 * Start the cluster; when another process took one of the free ports found before a node bound
 * it (the node exits: "address already in use"), start again on new ports, up to 3 times.
 */
export async function startNatsCluster(bin: string, options: NatsClusterOptions): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, options);
    } catch (error) {
      if (attempt >= 3 || !/address already in use/i.test(String(error))) throw error;
    }
  }
}

async function startOnce(bin: string, options: NatsClusterOptions): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const dir = await mkdtemp(join(tmpdir(), 'edgefc-nats-'));
  await writeFile(join(dir, 'authorization.conf'), options.authorization, { mode: 0o600 });
  const states: NodeState[] = [];
  for (let index = 0; index < size; index++) {
    const ports = { client: await freeLoopbackPort(), cluster: await freeLoopbackPort(), mqtt: await freeLoopbackPort(), http: await freeLoopbackPort() };
    states.push({ name: `n${index + 1}`, ports, conf: join(dir, `n${index + 1}.conf`), child: undefined, exited: Promise.resolve(), stderr: '', down: false });
  }
  for (const state of states) {
    await mkdir(join(dir, state.name), { recursive: true });
    const routes = states.filter((other) => other !== state).map((other) => `"nats-route://${LOOPBACK}:${other.ports.cluster}"`);
    await writeFile(
      state.conf,
      [
        `server_name: "${state.name}"`,
        `listen: "${LOOPBACK}:${state.ports.client}"`,
        `http: "${LOOPBACK}:${state.ports.http}"`,
        `jetstream { store_dir: "${join(dir, state.name)}", max_memory_store: 64MB, max_file_store: 1GB }`,
        // One node is no cluster: nats-server refuses a JetStream cluster without routes.
        ...(size > 1 ? [`cluster { name: "edgefc-test", listen: "${LOOPBACK}:${state.ports.cluster}", no_advertise: true, routes: [${routes.join(', ')}] }`] : []),
        // stream_replicas explicit: without it, 2.9.10's MQTT streams did not survive the loss of
        // a node (every QoS 1 publish then timed out, 4 s each, for as long as it was down).
        `mqtt { listen: "${LOOPBACK}:${state.ports.mqtt}"${size > 1 ? `, stream_replicas: ${Math.min(3, size)}` : ''} }`,
        'include "authorization.conf"',
        '',
      ].join('\n'),
    );
  }

  const launch = (state: NodeState): void => {
    const child = spawn(bin, ['-c', state.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    state.down = false;
    live.add(child);
    state.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      state.stderr = (state.stderr + chunk).slice(-65_536);
    });
    state.exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        if (state.child === child) state.child = undefined;
        resolve();
      });
    });
  };
  const waitListening = async (state: NodeState): Promise<void> => {
    const deadline = Date.now() + 10_000;
    const gone = (): boolean => state.child === undefined || Date.now() > deadline;
    for (const port of [state.ports.client, state.ports.mqtt]) {
      if (!(await waitForPort(port, gone))) throw new Error(`nats-server ${state.name} did not listen on ${port}: ${state.stderr}`);
    }
  };
  const waitHealthy = async (timeoutMs = 15_000, all = false): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (const state of states) {
      // A node that should run and does not (it exited: a port taken, a bad config) is an error.
      if (state.child === undefined) {
        if (all && !state.down) throw new Error(`nats-server ${state.name} exited: ${state.stderr.slice(-2000)}`);
        continue;
      }
      while (!(await healthy(state.ports.http))) {
        if (Date.now() > deadline) throw new Error(`nats-server ${state.name} not healthy within ${timeoutMs} ms: ${state.stderr.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const stopNode = async (state: NodeState, signal: NodeJS.Signals): Promise<void> => {
    const child = state.child;
    if (child === undefined) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await state.exited;
    clearTimeout(timer);
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await Promise.all(states.map((state) => stopNode(state, 'SIGTERM')));
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    for (const state of states) launch(state);
    for (const state of states) await waitListening(state);
    await waitHealthy(15_000, true);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    nodes: states.map((state) => ({
      name: state.name,
      natsUrl: `nats://${LOOPBACK}:${state.ports.client}`,
      mqttUrl: `mqtt://${LOOPBACK}:${state.ports.mqtt}`,
      ports: state.ports,
      get process() {
        return state.child;
      },
      log: () => state.stderr,
    })),
    natsUrls: states.map((state) => `nats://${LOOPBACK}:${state.ports.client}`),
    kill: (index) => {
      const state = at(states, index);
      state.down = true;
      return stopNode(state, 'SIGKILL');
    },
    restart: async (index) => {
      const state = at(states, index);
      if (state.child !== undefined) throw new Error(`nats-server ${state.name} is running`);
      launch(state);
      await waitListening(state);
      await waitHealthy(15_000, true);
    },
    waitHealthy: (timeoutMs) => waitHealthy(timeoutMs),
    reloadAuthorization: async (authorization) => {
      await writeFile(join(dir, 'authorization.conf'), authorization, { mode: 0o600 });
      for (const state of states) state.child?.kill('SIGHUP');
    },
    connectionNames: async () => {
      const names = await Promise.all(states.filter((state) => state.child !== undefined).map((state) => connz(state.ports.http)));
      return names.flat();
    },
    nodeOf: async (suffix) => {
      for (const [index, state] of states.entries()) {
        if (state.child === undefined) continue;
        if ((await connz(state.ports.http)).some((name) => name.endsWith(suffix))) return index;
      }
      return undefined;
    },
    close,
  };
}

function at(states: readonly NodeState[], index: number): NodeState {
  const state = states[index];
  if (state === undefined) throw new Error(`no node ${index}`);
  return state;
}

/** nats-server's /healthz: 200 once the server (and its JetStream) is current. */
function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: LOOPBACK, port, path: '/healthz', timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** The names of a node's open client connections (monitoring /connz). */
function connz(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const req = request({ host: LOOPBACK, port, path: '/connz?limit=1024', timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          const parsed = JSON.parse(body) as { connections?: { name?: string }[] };
          resolve((parsed.connections ?? []).map((connection) => connection.name ?? ''));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    req.once('error', reject);
    req.once('timeout', () => req.destroy(new Error('connz timed out')));
    req.end();
  });
}
