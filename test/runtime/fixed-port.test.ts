/**
 * Fixed-port custom web servers (issue 12, docs/runtime-custom.md §3.2): FC's
 * `customRuntimeConfig.port`, with servers that hard-code their port as FC's samples do.
 * Several instances of one function each listen on the same port in a network namespace of
 * their own; a server on another port, or one that exits, is reported at once with the port it
 * actually listens on; where namespaces are not available, the function runs one instance and
 * two functions on one port are refused at deploy.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { CustomRuntime } from '../../gateway/runtime/custom/custom-runtime.js';
import { FunctionPool } from '../../gateway/runtime/function-pool.js';
import { fixedPortOf, placeFixedPorts } from '../../gateway/runtime/custom/fixed-port.js';
import { netNamespaceSupport } from '../../gateway/runtime/custom/net-namespace.js';
import type { Template } from '../../gateway/registry/types.js';
import { TemplateError } from '../../gateway/registry/template-error.js';
import { test, type ContractHarness } from '../runtime-contract/harness.js';
import { targets, type ContractTarget } from '../runtime-contract/targets.js';
import { functionSpec, invocation, rejectionOf } from './harness.js';

const web = targets[1]!;

/** A custom web target whose bootstrap is `script` (Node source): a server as FC's samples write it. */
function server(harness: ContractHarness, script: string, startTimeoutMs = 20_000): ContractTarget {
  const dir = join(harness.stateDir, 'code');
  mkdirSync(dir, { recursive: true });
  chmodSync(harness.stateDir, 0o755);
  const file = join(dir, 'bootstrap');
  writeFileSync(file, `#!${process.execPath}\n'use strict';\nconst http = require('node:http');\n${script}\n`);
  chmodSync(dir, 0o755);
  chmodSync(file, 0o755);
  return {
    ...web,
    runtime: (onInstanceStart) => new CustomRuntime({ onInstanceStart, startTimeoutMs }),
    spec: { ...web.spec, codeDir: dir, customRuntimeConfig: { command: [file], args: [], webServerMode: true, port: 9000 } },
  };
}

/** Answers its pid and FC_SERVER_PORT after holding each call `hold` ms; listens on `port`, hard-coded. */
const holdingServer = (port: number, hold = 300): string => `
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => setTimeout(() => res.end(JSON.stringify({ pid: process.pid, uid: process.getuid(), env: process.env.FC_SERVER_PORT })), ${hold}));
}).listen(${port}, '0.0.0.0');`;

const support = netNamespaceSupport();

describe('fixed-port custom web servers', () => {
  test('where the gateway can make network namespaces (root on Linux with unshare and ip)', () => {
    // CI runs as root on Debian: namespaces must work there, or every fixed-port function runs one instance.
    if (process.env['CI'] !== undefined || process.getuid?.() === 0) expect(support).toEqual({ ok: true });
  });

  test('several instances of a function hard-coding port 9000 run side by side, each in its own namespace', async ({ harness }) => {
    expect(support.ok, support.ok ? '' : support.reason).toBe(true);
    const pool = harness.pool(server(harness, holdingServer(9000)), { maxInstances: 3, instanceConcurrency: 1 });
    const results = await Promise.all([1, 2, 3].map(() => pool.invoke(invocation())));
    const answers = results.map((r) => JSON.parse(String(r.payload)) as { pid: number; env: string });
    expect(new Set(answers.map((a) => a.pid)).size).toBe(3);
    // FC_SERVER_PORT is still offered, and holds the fixed port.
    expect(answers.map((a) => a.env)).toEqual(['9000', '9000', '9000']);
    // Warm calls reuse them.
    const again = JSON.parse(String((await pool.invoke(invocation())).payload)) as { pid: number };
    expect(answers.map((a) => a.pid)).toContain(again.pid);
  });

  test('contained: each instance runs as the function\'s own user inside its namespace', async ({ harness }) => {
    expect(support.ok, support.ok ? '' : support.reason).toBe(true);
    const uid = 2_000_060_002;
    const pool = harness.pool(server(harness, holdingServer(9000)), { maxInstances: 2, instanceConcurrency: 1, runAs: { uid, gid: uid, home: tmpdir() } });
    const answers = (await Promise.all([1, 2].map(() => pool.invoke(invocation())))).map((r) => JSON.parse(String(r.payload)) as { pid: number; uid: number });
    expect(answers.map((a) => a.uid)).toEqual([uid, uid]);
    expect(new Set(answers.map((a) => a.pid)).size).toBe(2);
  });

  test('inside its namespace the function still reaches the broker at EDGEFC_BROKER_URL (forwarded)', async ({ harness }) => {
    expect(support.ok, support.ok ? '' : support.reason).toBe(true);
    // A stand-in broker: echoes what it is sent.
    const broker = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
    const brokerUrl = `mqtt://127.0.0.1:${(broker.address() as net.AddressInfo).port}`;
    const target = server(harness, `
const net = require('node:net');
http.createServer((req, res) => {
  req.resume();
  const url = new URL(process.env.EDGEFC_BROKER_URL);
  const socket = net.connect(Number(url.port), url.hostname, () => socket.write('ping'));
  socket.on('data', (data) => { res.end('echoed ' + data); socket.destroy(); });
  socket.on('error', (error) => res.end('failed ' + error.message));
}).listen(9000);`);
    const pool = new FunctionPool(harness.runtime(target), { ...harness.config(target), brokerUrl });
    try {
      expect(String((await pool.invoke(invocation())).payload)).toBe('echoed ping');
    } finally {
      await pool.close({ graceMs: 0 });
      broker.close();
    }
  });

  test('a server listening on another port is reported at once, naming the port it listens on', async ({ harness }) => {
    const started = Date.now();
    const error = await rejectionOf(harness.pool(server(harness, holdingServer(9001))).invoke(invocation()));
    expect(error['errorType']).toBe('FunctionNotStarted');
    expect(error.message).toContain('listens on port 9001, not on port 9000');
    // Well before the start timeout (20 s here): the ports are read every 500 ms.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('without customRuntimeConfig.port, a server hard-coding 9000 is told to set it', async ({ harness }) => {
    const target = server(harness, holdingServer(9000));
    const { port: _port, ...withoutPort } = target.spec.customRuntimeConfig!;
    const error = await rejectionOf(harness.pool({ ...target, spec: { ...target.spec, customRuntimeConfig: withoutPort } }).invoke(invocation()));
    expect(error['errorType']).toBe('FunctionNotStarted');
    expect(error.message).toMatch(/listens on port 9000, not on port \d+ \(FC_SERVER_PORT\).*customRuntimeConfig\.port: 9000/);
  });

  test('a server that exits is reported with its exit code', async ({ harness }) => {
    const error = await rejectionOf(harness.pool(server(harness, 'process.exit(3);')).invoke(invocation()));
    expect(error['errorType']).toBe('FunctionNotStarted');
    expect(error.message).toContain('exit code 3');
    expect(error.message).toContain('port 9000 (customRuntimeConfig.port');
  });

  test('a caller with a budget hears that the instance is still starting before its deadline', async ({ harness }) => {
    // Listens on nothing and never exits: only the caller's deadline can end the wait.
    const pool = harness.pool(server(harness, 'setInterval(() => {}, 1000);', 4_000));
    const deadline = Date.now() + 2_500;
    const error = await rejectionOf(pool.invoke(invocation({ deadline })));
    expect(Date.now()).toBeLessThan(deadline);
    expect(error['errorType']).toBe('FunctionNotStarted');
    expect(error.message).toContain('not ready before the caller');
  });
});

describe('placing fixed-port functions without network namespaces', () => {
  const logged: unknown[] = [];
  const logger = { debug: () => undefined, info: () => undefined, warn: (...args: unknown[]) => logged.push(args), error: () => undefined };
  const unsupported = { ok: false as const, reason: 'no namespaces in this test' };
  const fn = (name: string, port: number | undefined, maxInstances = 3) =>
    functionSpec({ name, runtime: 'custom', maxInstances, customRuntimeConfig: { command: ['/bin/true'], args: [], webServerMode: true, ...(port === undefined ? {} : { port }) } });
  const template = (...functions: ReturnType<typeof fn>[]): Template => ({ path: '/t.yml', identity: { region: '', accountId: '', credentials: { accessKeyId: '', accessKeySecret: '', securityToken: '' } }, services: [], functions });

  test('one instance each, said in the log; functions without a port are left alone', () => {
    const placed = placeFixedPorts(template(fn('a', 9000), fn('b', undefined)), logger as never, unsupported);
    expect(placed.functions.map((f) => [f.name, f.maxInstances, fixedPortOf(f)])).toEqual([['a', 1, 9000], ['b', 3, undefined]]);
    expect(JSON.stringify(logged)).toContain('no namespaces in this test');
  });

  test('two functions on one port are refused with a template error naming both', () => {
    let caught: unknown;
    try {
      placeFixedPorts(template(fn('a', 9000), fn('b', 9000), fn('c', 8080)), logger as never, unsupported);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TemplateError);
    expect((caught as TemplateError).code).toBe('InvalidArgument');
    expect((caught as TemplateError).problems.map((p) => p.field)).toEqual([
      'services.svc.functions.a.customRuntimeConfig.port',
      'services.svc.functions.b.customRuntimeConfig.port',
    ]);
  });

  test('with namespaces nothing is changed or refused', () => {
    const given = template(fn('a', 9000), fn('b', 9000));
    expect(placeFixedPorts(given, logger as never, { ok: true })).toBe(given);
  });
});
