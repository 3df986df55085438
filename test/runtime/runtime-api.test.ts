/**
 * The runtime API (go1) beyond the shared contract: the headers fc-runtime-go-sdk parses,
 * start failures, a panic's stack frames, late answers, and the pre-stop invocation.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { RuntimeApiRuntime } from '../../gateway/runtime/runtime-api/runtime-api-runtime.js';
import { op, test, type ContractHarness } from '../runtime-contract/harness.js';
import { targets, type ContractTarget } from '../runtime-contract/targets.js';
import { invocation, parseResult, rejectionOf } from './harness.js';

const api = targets[3]!;

/** A go1 target whose executable is `script` (Node source), written into the test's state dir. */
function scripted(harness: ContractHarness, script: string, startTimeoutMs = 2_000): ContractTarget {
  const file = join(harness.stateDir, 'bootstrap');
  writeFileSync(file, `#!${process.execPath}\n'use strict';\nconst http = require('node:http');\n${script}\n`);
  chmodSync(file, 0o755);
  return {
    ...api,
    runtime: (onInstanceStart) => new RuntimeApiRuntime({ onInstanceStart, startTimeoutMs }),
    spec: { ...api.spec, codeDir: harness.stateDir, handler: 'bootstrap' },
  };
}

/** Node source for: take one invocation, POST `body` to `path(id)`, then keep polling. */
const answerOnce = (path: string, body: string): string => `
const [host, port] = process.env.FC_RUNTIME_API.split(':');
const req = (method, p, data) => new Promise((resolve) => {
  const r = http.request({ host, port, method, path: p }, (res) => { res.resume(); res.on('end', () => resolve(res)); });
  r.end(data);
});
(async () => {
  const next = await req('GET', '/2020-11-11/runtime/invocation/next');
  const id = next.headers['x-fc-request-id'];
  const bogus = await req('POST', '/2020-11-11/runtime/invocation/not-a-call/response', 'late');
  const body = ${body}.replace('BOGUS', String(bogus.statusCode));
  await req('POST', '/2020-11-11/runtime/invocation/' + id + '${path}', body);
  await req('GET', '/2020-11-11/runtime/invocation/next');
})();`;

describe('runtime API', () => {
  test('GET .../next carries the deadline (epoch ms), function type 0 and retry count 0', async ({ harness }) => {
    const before = Date.now();
    const seen = parseResult(await harness.pool(api, { timeoutMs: 5_000 }).invoke(invocation({ payload: op('context') })));
    const deadline = Number(seen['deadline']);
    expect(deadline).toBeGreaterThanOrEqual(before + 4_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(seen).toMatchObject({ functionType: '0', retryCount: '0', timeout: '5' });
  });

  test('an answer for an unknown request ID gets 404; the real answer still counts', async ({ harness }) => {
    const target = scripted(harness, answerOnce('/response', "JSON.stringify('late answer got BOGUS')"));
    const result = await harness.pool(target).invoke(invocation());
    expect(result.payload.toString()).toBe('"late answer got 404"');
  });

  test("a panic (error with the SDK's stack frames) → UnhandledInvocationError with readable frames", async ({ harness }) => {
    const body = JSON.stringify(
      JSON.stringify({
        errorMessage: 'runtime error: index out of range BOGUS',
        errorType: 'boundsError',
        stackTrace: [{ path: '/code/main.go', line: 12, label: 'HandleRequest' }],
      }),
    );
    const err = await rejectionOf(harness.pool(scripted(harness, answerOnce('/error', body))).invoke(invocation()));
    expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(err['errorType']).toBe('boundsError');
    expect(err['stackTrace']).toEqual(['HandleRequest (/code/main.go:12)']);
  });

  test('a process that never asks for work → FunctionNotStarted after startTimeoutMs', async ({ harness }) => {
    const started = Date.now();
    const err = await rejectionOf(harness.pool(scripted(harness, 'setInterval(() => {}, 1000);', 300)).invoke(invocation()));
    expect(err['errorType']).toBe('FunctionNotStarted');
    expect(err.message).toContain('FC_RUNTIME_API');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test('a process that exits before asking for work → FunctionNotStarted with its exit code', async ({ harness }) => {
    const err = await rejectionOf(harness.pool(scripted(harness, 'process.exit(4);')).invoke(invocation()));
    expect(err['errorType']).toBe('FunctionNotStarted');
    expect(err.message).toContain('exit code 4');
  });

  test('stopping a healthy instance sends a pre-stop invocation (function type 2, as the SDK numbers it), never pre-freeze', async ({ harness }) => {
    const instance = await harness.instance(api, { preStop: { handler: 'preStop', timeoutMs: 1_000 } });
    await instance.invoke(invocation({ payload: op('pid') }));
    await instance.stop();
    expect(readFileSync(harness.file('prestop'), 'utf8').trim().split('\n')).toHaveLength(1);
    // The stand-in, like the SDK, panics on a pre-freeze (type 3) with no pre-freeze hook: none was sent.
    expect(existsSync(harness.file('prefreeze'))).toBe(false);
  });

  test('calls with the same request ID on one instance run one after the other', async ({ harness }) => {
    const instance = await harness.instance(api, { instanceConcurrency: 2 });
    const release = harness.file('release');
    const first = instance.invoke(invocation({ requestId: 'same', payload: op('hold', { file: release, touch: harness.file('a') }) }));
    const second = instance.invoke(invocation({ requestId: 'same', payload: op('echo', { text: 'second' }) }));
    writeFileSync(release, '');
    expect((await first).payload.toString()).toMatch(/^\d+$/);
    expect((await second).payload.toString()).toBe('hello second');
  });
});
