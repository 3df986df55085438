/**
 * deploy/nats/edge-{1,2,3}.conf, the three-box NATS cluster of docs/scale-out.md: nats-server
 * 2.9.10 accepts each (`nats-server -t`, with the authorization.conf `edgefc broker-config nats`
 * writes), the three differ only where they must, and, moved to loopback ports (addresses, ports
 * and the store directory replaced, nothing else), they form a cluster whose MQTT layer's streams
 * are replicated on all three nodes and where a device logs in over MQTT.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runUsers } from '../../gateway/cli/commands/users.js';
import { main } from '../../gateway/cli/edgefc.js';
import { readStreamHealth } from '../../gateway/cluster/stream-health.js';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { readGatewayLogin } from '../../gateway/security/gateway-secrets.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { requireNatsServer } from '../fixtures/nats-cluster.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const NODES = [1, 2, 3] as const;
const configOf = (n: number): string => join(ROOT, 'deploy', 'nats', `edge-${n}.conf`);

let bin: string;
let dir: string;
let dataDir: string;
const password = randomBytes(18).toString('base64url');
/** nats-server of node n at n - 1. */
const running: ChildProcess[] = [];

beforeAll(async () => {
  bin = requireNatsServer();
  dir = await traversableTempDir('edgefc-nats-configs-');
  dataDir = join(dir, 'data');
  const quiet = { out: (): void => undefined, err: (): void => undefined };
  expect(await runUsers(['add', 'sensor-1', '--role', 'device', '--nats', '--data', dataDir], quiet, { stdin: Readable.from([`${password}\n`]), prompt: () => undefined })).toBe(0);
  expect(await main(['broker-config', 'nats', '--out', dir, '--data', dataDir], quiet)).toBe(0);
}, 60_000);

afterAll(async () => {
  await Promise.all(NODES.map(stopNode));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The file with the parts that name this box replaced by `edge-N`, `ADDR` and `ROUTES`: what must be alike. */
function shape(text: string): string {
  return text
    .replace(/edge box \d of 3 \(10\.0\.0\.\d\)/, 'edge box N of 3 (ADDR)')
    .replace(/server_name: "edge-\d"/, 'server_name: "edge-N"')
    .replace(/routes: \[[^\]]*\]/, 'routes: [ROUTES]');
}

describe('deploy/nats: the three-box cluster configuration', () => {
  test('nats-server accepts each file, with the authorization.conf broker-config writes', async () => {
    for (const n of NODES) {
      await writeFile(join(dir, `edge-${n}.conf`), await readFile(configOf(n), 'utf8'));
      const result = spawnSync(bin, ['-t', '-c', join(dir, `edge-${n}.conf`)], { encoding: 'utf8' });
      expect(result.status, result.stdout + result.stderr).toBe(0);
      expect(result.stdout + result.stderr).toMatch(/is valid/);
    }
  });

  test('each names itself, routes to the other two, replicates the MQTT streams three times and includes the users; otherwise alike', async () => {
    const texts = await Promise.all(NODES.map(async (n) => readFile(configOf(n), 'utf8')));
    for (const [index, text] of texts.entries()) {
      const n = index + 1;
      expect(text).toMatch(new RegExp(`^server_name: "edge-${n}"$`, 'm'));
      const routes = [...(/routes: \[([^\]]*)\]/.exec(text)?.[1] ?? '').matchAll(/nats-route:\/\/10\.0\.0\.(\d):6222/g)].map((match) => Number(match[1]));
      expect(routes).toEqual(NODES.filter((other) => other !== n));
      expect(text).toMatch(/^\s*stream_replicas: 3$/m);
      expect(text).toMatch(/^jetstream \{$/m);
      expect(text).toMatch(/^include "authorization\.conf"$/m);
    }
    expect(new Set(texts.map(shape)).size).toBe(1);
  });

  test('moved to loopback ports, the three form a cluster: routes up, MQTT streams R3, a device logs in over MQTT', async () => {
    const ports = await Promise.all(NODES.map(async () => ({ client: await freeLoopbackPort(), cluster: await freeLoopbackPort(), mqtt: await freeLoopbackPort(), http: await freeLoopbackPort() })));
    const portOf = (n: number): (typeof ports)[number] => ports[n - 1] as (typeof ports)[number];
    for (const n of NODES) {
      const own = portOf(n);
      await mkdir(join(dir, `store-${n}`), { recursive: true });
      const text = (await readFile(configOf(n), 'utf8'))
        .replace('"0.0.0.0:4222"', `"127.0.0.1:${own.client}"`)
        .replace('"0.0.0.0:6222"', `"127.0.0.1:${own.cluster}"`)
        .replace('"0.0.0.0:1883"', `"127.0.0.1:${own.mqtt}"`)
        .replace('"127.0.0.1:8222"', `"127.0.0.1:${own.http}"`)
        .replace('"/var/lib/nats"', JSON.stringify(join(dir, `store-${n}`)))
        .replace(/nats-route:\/\/10\.0\.0\.(\d):6222/g, (_match, other: string) => `nats-route://127.0.0.1:${portOf(Number(other)).cluster}`);
      await writeFile(join(dir, `local-${n}.conf`), text);
      startNode(n);
    }
    // Once in CI a node still had one route of two after 30 s (nats-server 2.9.10; the logs were
    // not kept then, so the cause is not known: they are now). A node missing a route is restarted
    // once, as an operator would (docs/scale-out.md "A route missing"), its peers' logs shown;
    // the files are what this test checks, and a second miss fails it.
    let restarted = false;
    for (let index = 0; index < NODES.length; index += 1) {
      const n = NODES[index] as number;
      await expect.poll(async () => (await httpJson(portOf(n).http, '/healthz')).status, { timeout: 30_000, interval: 200 }).toBe('ok');
      const routes = await pollRoutes(portOf(n).http, 30_000);
      if (routes === 2) continue;
      const logs = await logsOf(NODES);
      expect(restarted, `a route missing again after a restart (${String(routes)} on edge-${n}):\n${logs}`).toBe(false);
      console.warn(`edge-${n} had ${String(routes)} routes of 2 after 30 s; restarting it. The nodes' logs:\n${logs}`);
      restarted = true;
      await stopNode(n);
      startNode(n);
      index = -1; // every node again
    }
    const device = await connectMqtt(`mqtt://127.0.0.1:${portOf(2).mqtt}`, { clientId: 'sensor-1_conf', username: 'sensor-1', password, protocolVersion: 4, connectTimeoutMs: 10_000 });
    await device.subscribeAsync('edgefc/v1/reply/sensor-1', { qos: 1 });
    await device.endAsync();
    const login = await readGatewayLogin(dataDir);
    const nc = await connect({ servers: `nats://127.0.0.1:${portOf(3).client}`, user: login?.username ?? '', pass: login?.password ?? '', reconnect: false, timeout: 10_000 });
    try {
      const streams = await readStreamHealth(nc);
      expect(streams.listed, JSON.stringify(streams)).toBe(true);
      const sessions = streams.listed ? streams.items.find((stream) => stream.name === '$MQTT_sess') : undefined;
      expect(sessions?.replicas).toBe(3);
      expect(sessions?.leader).toMatch(/^edge-[123]$/);
    } finally {
      await nc.close();
    }
  }, 90_000);
});

const logOf = (n: number): string => join(dir, `node-${n}.log`);

/** Node n on its local config (written by the cluster test), its log appended to node-n.log. */
function startNode(n: number): void {
  running[n - 1] = spawn(bin, ['-c', join(dir, `local-${n}.conf`), '-l', logOf(n)], { stdio: ['ignore', 'ignore', 'ignore'] });
}

async function stopNode(n: number): Promise<void> {
  const child = running[n - 1];
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function logsOf(nodes: readonly number[]): Promise<string> {
  const texts = await Promise.all(nodes.map(async (n) => `--- edge-${n}\n${(await readFile(logOf(n), 'utf8').catch(() => '')).slice(-6_000)}`));
  return texts.join('\n');
}

/** The node's route count once it is 2, or the last count seen when `timeoutMs` ran out. */
async function pollRoutes(httpPort: number, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const routes = (await httpJson(httpPort, '/routez')).num_routes;
    if (routes === 2 || Date.now() > deadline) return routes;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function httpJson(port: number, path: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch {
          resolve({});
        }
      });
    });
    req.once('error', () => resolve({}));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}
