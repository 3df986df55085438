/**
 * The custom runtime beyond the shared contract (test/runtime-contract): starting, pre-stop,
 * FC's x-fc-status rules, output floods, and what non-web mode refuses.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { CustomRuntime } from '../../gateway/runtime/custom/custom-runtime.js';
import type { HttpAnswer } from '../../gateway/runtime/custom/http-exchange.js';
import { invokeOutcome } from '../../gateway/runtime/custom/web-answer.js';
import { TRUNCATION_MARKER } from '../../gateway/runtime/process/log-lines.js';
import { op, test } from '../runtime-contract/harness.js';
import { targets, type ContractTarget } from '../runtime-contract/targets.js';
import { invocation, rejectionOf } from './harness.js';

const web = targets[1]!;
const nonWeb = targets[2]!;

/** The web target with a short start timeout, running `script` (Node) instead of the fixture. */
function inlineServer(script: string, startTimeoutMs = 2_000): ContractTarget {
  return {
    ...web,
    runtime: (onInstanceStart) => new CustomRuntime({ onInstanceStart, startTimeoutMs }),
    spec: {
      ...web.spec,
      customRuntimeConfig: { command: [process.execPath, '-e', script], args: [], webServerMode: true },
    },
  };
}

describe('custom runtime: starting', () => {
  test('a server that exits before listening → FunctionNotStarted with its exit code', async ({ harness }) => {
    const target = inlineServer("console.error('no config'); process.exit(2)");
    const err = await rejectionOf(harness.pool(target).invoke(invocation()));
    expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(err['errorType']).toBe('FunctionNotStarted');
    expect(err.message).toContain('exit code 2');
    expect(harness.logs.map((l) => l.message)).toContain('no config');
  });

  test('a server that never listens on FC_SERVER_PORT → FunctionNotStarted after startTimeoutMs', async ({ harness }) => {
    const target = inlineServer('setInterval(() => {}, 1000)', 300);
    const started = Date.now();
    const err = await rejectionOf(harness.pool(target).invoke(invocation()));
    expect(err['errorType']).toBe('FunctionNotStarted');
    expect(err.message).toContain('FC_SERVER_PORT');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test('a command that does not exist → ServiceUnavailable', async ({ harness }) => {
    const target: ContractTarget = {
      ...web,
      spec: { ...web.spec, customRuntimeConfig: { command: ['edgefc-no-such-program'], args: [], webServerMode: true } },
    };
    expect((await rejectionOf(harness.pool(target).invoke(invocation()))).code).toBe(ErrorCode.ServiceUnavailable);
  });

  test('two instances get two ports; FC_SERVER_PORT and FC_CUSTOM_LISTEN_PORT agree', async ({ harness }) => {
    const target = inlineServer(`
      const port = process.env.FC_SERVER_PORT;
      require('node:http').createServer((q, s) => s.end(port + '/' + process.env.FC_CUSTOM_LISTEN_PORT)).listen(Number(port), '127.0.0.1');
    `);
    const [a, b] = await Promise.all([harness.instance(target), harness.instance(target)]);
    const [ra, rb] = await Promise.all([a.invoke(invocation()), b.invoke(invocation())]);
    const [portA, listenA] = ra.payload.toString().split('/');
    expect(listenA).toBe(portA);
    expect(rb.payload.toString().split('/')[0]).not.toBe(portA);
  });
});

describe('custom runtime: FC semantics', () => {
  const answer = (headers: Record<string, string>, body = '', status = 200): HttpAnswer => ({ status, headers, body: Buffer.from(body) });

  test('x-fc-status: absent or 200 → success (whatever the HTTP status), 404 → handled, other → unhandled', () => {
    expect(invokeOutcome(answer({}, 'ok', 500), 'r').ok).toBe(true);
    expect(invokeOutcome(answer({ 'x-fc-status': '200' }, 'ok'), 'r').ok).toBe(true);
    const handled = invokeOutcome(answer({ 'x-fc-status': '404' }, '{"errorMessage":"m","errorType":"T","stackTrace":["a"]}', 404), 'r');
    expect(handled.ok ? undefined : handled.error.toWire()).toEqual({
      code: ErrorCode.HandledInvocationError,
      message: 'm',
      errorMessage: 'm',
      errorType: 'T',
      stackTrace: ['a'],
    });
    const unhandled = invokeOutcome(answer({ 'x-fc-status': '500' }, 'plain text'), 'r');
    expect(unhandled.ok ? undefined : unhandled.error.toWire()).toMatchObject({
      code: ErrorCode.UnhandledInvocationError,
      errorMessage: 'plain text',
      errorType: 'FunctionError',
    });
  });

  test('HTTP 500 without x-fc-status is a success, with a warning in the function log', async ({ harness }) => {
    const target = inlineServer(`
      require('node:http').createServer((q, s) => { s.statusCode = 500; s.end('oops'); }).listen(Number(process.env.FC_SERVER_PORT), '127.0.0.1');
    `);
    const call = invocation();
    expect((await harness.pool(target).invoke(call)).payload.toString()).toBe('oops');
    expect(harness.logs).toContainEqual(expect.objectContaining({ requestId: call.requestId, level: 'warn' }));
  });

  test('the call sees its invocation type and the service log project in headers', async ({ harness }) => {
    const seen = JSON.parse(
      (await harness.pool(web).invoke(invocation({ payload: op('context'), invocationType: 'Async' }))).payload.toString(),
    ) as Record<string, unknown>;
    expect(seen).toMatchObject({ invocationType: 'Async', logProject: 'proj', securityToken: 'TOKEN' });
  });

  test('GET /pre-stop runs when a healthy instance stops, not after a timeout retired it', async ({ harness }) => {
    const spec = { preStop: { handler: 'index.preStop', timeoutMs: 1_000 } };
    const healthy = await harness.instance(web, spec);
    await healthy.invoke(invocation({ payload: op('pid') }));
    await healthy.stop();
    expect(readFileSync(harness.file('prestop'), 'utf8').trim().split('\n')).toHaveLength(1);

    const stuck = await harness.instance(web, { ...spec, timeoutMs: 200 });
    expect((await rejectionOf(stuck.invoke(invocation({ payload: op('loop') })))).code).toBe(ErrorCode.FunctionTimeout);
    expect(stuck.usable).toBe(false);
    await stuck.stop();
    expect(readFileSync(harness.file('prestop'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  test('8 MiB of stdout without a newline: the call still answers, log lines are capped', async ({ harness }) => {
    const before = process.memoryUsage().rss;
    const result = await harness.pool(web).invoke(invocation({ payload: op('flood') }));
    expect(result.payload.toString()).toBe('flooded');
    await expect.poll(() => harness.logs.some((l) => l.message.endsWith(TRUNCATION_MARKER))).toBe(true);
    expect(Math.max(...harness.logs.map((l) => l.message.length))).toBeLessThan(9 * 1024);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('custom runtime: non-web mode', () => {
  test('stdout past 6 MiB → ResultTooLarge, the process is killed', async ({ harness }) => {
    const target: ContractTarget = {
      ...nonWeb,
      spec: {
        ...nonWeb.spec,
        customRuntimeConfig: {
          // 100 MB of zero bytes through blocking writes (a Node writer would buffer in its own memory).
          command: ['head', '-c', '100000000', '/dev/zero'],
          args: [],
          webServerMode: false,
        },
      },
    };
    const err = await rejectionOf(harness.pool(target).invoke(invocation()));
    expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(err['errorType']).toBe('ResultTooLarge');
  });

  test('an event too large for an environment variable → InvalidArgument; nothing is started', async ({ harness }) => {
    const err = await rejectionOf(harness.pool(nonWeb).invoke(invocation({ payload: Buffer.alloc(200 * 1024, 'a') })));
    expect(err.code).toBe(ErrorCode.InvalidArgument);
    expect(harness.pids).toEqual([]);
  });

  test('a non-zero exit quotes the last stderr line; the event and arguments reach the process', async ({ harness }) => {
    const script = join(harness.stateDir, 'run.sh');
    writeFileSync(script, '#!/bin/sh\necho "got $FC_CUSTOM_CONTAINER_EVENT $1" >&2\nexit 7\n');
    chmodSync(script, 0o755);
    const target: ContractTarget = {
      ...nonWeb,
      spec: { ...nonWeb.spec, customRuntimeConfig: { command: [script], args: ['--flag'], webServerMode: false } },
    };
    const err = await rejectionOf(harness.pool(target).invoke(invocation({ payload: 'evt' })));
    expect(err['errorType']).toBe('ProcessExited');
    expect(err['errorMessage']).toBe('the function process exited (exit code 7): got evt --flag');
    expect(existsSync(script)).toBe(true);
  });
});
