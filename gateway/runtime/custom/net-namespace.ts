/**
 * A network namespace of one custom web server instance with a fixed port
 * (`customRuntimeConfig.port`, FC's CAPort): several instances of one function, or functions
 * with the same port, each listen on it in a namespace of their own and never collide, as each
 * FC instance does in its container (docs/runtime-custom.md §3.2).
 *
 * The namespace is made and held by ./netns-forwarder.ts (`unshare --net`, as root), which is
 * also its only way in and out: the gateway reaches the server through a Unix socket in a
 * private directory (0700, the gateway's), and the function reaches the broker through
 * 127.0.0.1:<broker port> inside, piped to a Unix socket the gateway serves in front of the
 * broker. The function is started into the namespace by `nsenter --net=/proc/<forwarder>/ns/net`
 * (process-launch.ts). Nothing else of the box's network is reachable from inside.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../package-root.js';

const here = fileURLToPath(import.meta.url);
/** Compiled JS also when the gateway runs from TypeScript sources (vitest): the build's copy. */
const FORWARDER_PATH = here.endsWith('.js')
  ? join(dirname(here), 'netns-forwarder.js')
  : join(PACKAGE_ROOT, 'dist', 'gateway', 'runtime', 'custom', 'netns-forwarder.js');

export type NamespaceSupport = { ok: true } | { ok: false; reason: string };

let support: NamespaceSupport | undefined;

/**
 * Can this gateway give an instance a network namespace of its own? Linux, root (making one
 * needs CAP_SYS_ADMIN), and `unshare` and `ip` that work here (a container without the
 * capability refuses). Probed once per process (~5 ms).
 */
export function netNamespaceSupport(): NamespaceSupport {
  support ??= probe();
  return support;
}

function probe(): NamespaceSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces are Linux's (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'making a network namespace needs root; the gateway runs as another user' };
  const result = spawnSync('unshare', ['--net', '--', 'ip', 'link', 'set', 'lo', 'up'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 });
  if (result.error !== undefined) return { ok: false, reason: `unshare cannot be run (${result.error.message}); install util-linux and iproute2` };
  if (result.status !== 0) {
    const stderr = result.stderr.toString().trim().split('\n').pop() ?? '';
    return { ok: false, reason: `unshare --net … ip link set lo up failed (${stderr || `exit ${String(result.status)}`}); install iproute2, or give the gateway CAP_SYS_ADMIN` };
  }
  return { ok: true };
}

export interface NetNamespaceOptions {
  /** The fixed port the server listens on inside. */
  port: number;
  /** The function's EDGEFC_BROKER_URL: forwarded inside when its host is a loopback address. */
  brokerUrl: string | undefined;
  /** How long to wait for the forwarder to be ready. @default 10_000 */
  readyTimeoutMs?: number;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export class NetNamespace {
  /** `/proc/<pid>/ns/net` of the namespace, for nsenter. */
  readonly path: string;
  /** The Unix socket whose connections reach 127.0.0.1:<port> inside. */
  readonly serverSocket: string;
  /** Resolves once the server accepts a connection inside. */
  readonly listening: Promise<void>;
  readonly #forwarder: ChildProcess;
  readonly #dir: string;
  readonly #brokerProxy: net.Server | undefined;
  #closed = false;

  private constructor(forwarder: ChildProcess, dir: string, brokerProxy: net.Server | undefined, listening: Promise<void>) {
    this.#forwarder = forwarder;
    this.#dir = dir;
    this.#brokerProxy = brokerProxy;
    this.path = `/proc/${String(forwarder.pid)}/ns/net`;
    this.serverSocket = join(dir, 'server.sock');
    this.listening = listening;
  }

  /** Make the namespace and its forwarder; rejects with why it could not (the instance then fails to start). */
  static async create(options: NetNamespaceOptions): Promise<NetNamespace> {
    // mkdtemp makes it 0700: only the gateway (root) reaches the sockets in it.
    const dir = mkdtempSync(join(tmpdir(), 'edgefc-ns-'));
    const args = ['--server-socket', join(dir, 'server.sock'), '--port', String(options.port)];
    let brokerProxy: net.Server | undefined;
    const broker = brokerTarget(options.brokerUrl);
    if (broker !== undefined) {
      const brokerSocket = join(dir, 'broker.sock');
      brokerProxy = net.createServer((client) => {
        const upstream = net.connect({ host: broker.host, port: broker.port, noDelay: true });
        client.pipe(upstream);
        upstream.pipe(client);
        const close = (): void => {
          client.destroy();
          upstream.destroy();
        };
        for (const socket of [client, upstream]) {
          socket.on('error', close);
          socket.on('close', close);
        }
      });
      await new Promise<void>((resolve, reject) => {
        brokerProxy?.once('error', reject);
        brokerProxy?.listen(brokerSocket, () => resolve());
      });
      args.push('--broker-socket', brokerSocket, '--broker-port', String(broker.port));
    }
    const forwarder = spawn('unshare', ['--net', '--', process.execPath, FORWARDER_PATH, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let onListening!: () => void;
    let onGone!: (error: Error) => void;
    const listening = new Promise<void>((resolve, reject) => {
      onListening = resolve;
      onGone = reject;
    });
    listening.catch(() => undefined);
    const namespace = new NetNamespace(forwarder, dir, brokerProxy, listening);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the network namespace was not ready in time')), options.readyTimeoutMs ?? 10_000);
        let buffered = '';
        forwarder.stdout?.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          let newline: number;
          while ((newline = buffered.indexOf('\n')) !== -1) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (line === 'ready') {
              clearTimeout(timer);
              resolve();
            } else if (line === 'listening') {
              onListening();
            } else if (line.startsWith('error ')) {
              clearTimeout(timer);
              reject(new Error(`the network namespace could not be set up: ${line.slice(6)}`));
            }
          }
        });
        forwarder.once('error', (error) => {
          clearTimeout(timer);
          reject(new Error(`unshare could not be started: ${error.message}`));
        });
        forwarder.once('exit', (code, signal) => {
          clearTimeout(timer);
          const why = new Error(`the network namespace's forwarder exited (${signal ?? `exit code ${String(code)}`})`);
          onGone(why);
          reject(why);
        });
      });
    } catch (error) {
      namespace.close();
      throw error;
    }
    return namespace;
  }

  /** Stop the forwarder (the namespace goes with its last process) and remove the sockets. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#forwarder.stdin?.destroy();
    if (this.#forwarder.exitCode === null && this.#forwarder.signalCode === null) this.#forwarder.kill('SIGKILL');
    this.#brokerProxy?.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Host and port of a loopback broker URL (mqtt://, ws:// …); undefined for any other host. */
function brokerTarget(url: string | undefined): { host: string; port: number } | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (!LOOPBACK_HOSTS.has(parsed.hostname)) return undefined;
  const defaults: Record<string, number> = { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };
  const port = parsed.port === '' ? defaults[parsed.protocol] : Number(parsed.port);
  if (port === undefined) return undefined;
  return { host: parsed.hostname === 'localhost' ? '127.0.0.1' : parsed.hostname.replace(/^\[|\]$/g, ''), port };
}
