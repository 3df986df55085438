/**
 * Runs inside a custom web server instance's own network namespace (started by
 * ./net-namespace.ts as `unshare --net -- node netns-forwarder.js ARGS`, as root), and is the
 * namespace's only way in or out:
 *
 * - `--server-socket PATH --port N`: a Unix socket on the filesystem (which, unlike a TCP port,
 *   reaches across network namespaces) that the gateway connects to; each connection is piped
 *   to 127.0.0.1:N inside the namespace, where the function's server listens on its fixed port;
 * - `--broker-socket PATH --broker-port M`: 127.0.0.1:M inside the namespace, piped to a Unix
 *   socket the gateway serves in front of its broker, so the function's `EDGEFC_BROKER_URL`
 *   (a loopback URL) works unchanged.
 *
 * It brings the namespace's `lo` up first (a new namespace has it down), prints `ready`, then
 * polls 127.0.0.1:N the way loopback-port.ts does and prints `listening` once the server
 * accepts. It exits when its stdin closes (the gateway stopped it, or died).
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { canConnect, portPollDelayMs } from '../process/loopback-port.js';

const { values } = parseArgs({
  options: {
    'server-socket': { type: 'string' },
    port: { type: 'string' },
    'broker-socket': { type: 'string' },
    'broker-port': { type: 'string' },
  },
});

/** Pipe two sockets both ways; either side's end or error ends both. */
function splice(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close);
  b.on('error', close);
  a.on('close', close);
  b.on('close', close);
}

function main(): void {
  const socketPath = values['server-socket'];
  const port = Number(values.port);
  if (socketPath === undefined || !Number.isInteger(port)) throw new Error('usage: --server-socket PATH --port N');
  execFileSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'ignore' });

  const inbound = net.createServer((client) => {
    const server = net.connect({ port, host: '127.0.0.1', noDelay: true });
    splice(client, server);
  });
  inbound.listen(socketPath);

  const brokerSocket = values['broker-socket'];
  const brokerPort = Number(values['broker-port']);
  if (brokerSocket !== undefined && Number.isInteger(brokerPort)) {
    net
      .createServer({ noDelay: true }, (client) => splice(client, net.connect({ path: brokerSocket })))
      .listen(brokerPort, '127.0.0.1');
  }

  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
  inbound.once('listening', () => {
    process.stdout.write('ready\n');
    void waitForServer(port);
  });
}

async function waitForServer(port: number): Promise<void> {
  const started = performance.now();
  while (!(await canConnect(port))) {
    await new Promise((resolve) => setTimeout(resolve, portPollDelayMs(performance.now() - started)));
  }
  process.stdout.write('listening\n');
}

try {
  main();
} catch (error) {
  process.stdout.write(`error ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
