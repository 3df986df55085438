/**
 * `isolation: none` on a whole gateway process (`edgefc start`): the function runs inside the
 * gateway, and what it leaves unhandled (an exception thrown from a timer, a rejected promise,
 * process.exit) fails only its own call, is logged to the function, and never stops the
 * gateway. A separate process, because here the test runner listens for uncaught errors too.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode, FCClient } from '../../src/index.js';
import { operatorLogin, runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

const FIXTURES = resolve(fileURLToPath(import.meta.url), '../../fixtures/gateway-functions');

let dir: string;
let proc: CliProcess | undefined;
let client: FCClient;

beforeAll(async () => {
  dir = await traversableTempDir('edgefc-inproc-');
  const file = join(dir, 'template.yml');
  await writeFile(
    file,
    `edgefc: 1
services:
  Trusted:
    functions:
      inside:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${JSON.stringify(join(FIXTURES, 'trusted'))}
        isolation: none
        timeout: 5
      outside:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${JSON.stringify(join(FIXTURES, 'context'))}
`,
  );
  proc = startCliProcess(['start', '--template', file, '--port', '0', '--data', join(dir, 'data'), '--skip-demo']);
  await proc.waitForOutput(/ready on (mqtt:\/\/\S+)/);
  const url = /ready on (mqtt:\/\/\S+)/.exec(proc.output())?.[1] ?? '';
  client = new FCClient({ brokerUrl: url, timeout: 5000, ...(await operatorLogin(join(dir, 'data'))) });
});

afterAll(async () => {
  await client?.close();
  await stopProcess(proc);
  await rm(dir, { recursive: true, force: true });
});

async function inside(payload: string): Promise<string> {
  const { payload: result } = await client.invokeFunction({ serviceName: 'Trusted', functionName: 'inside', payload });
  return String(result);
}

async function failureOf(payload: string): Promise<Record<string, unknown>> {
  try {
    await inside(payload);
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error(`"${payload}" did not fail`);
}

describe('isolation: none on a gateway process', () => {
  test('the handler runs in the gateway process itself', async () => {
    expect(Number(await inside('pid'))).toBe(proc?.child.pid);
  });

  test.each([
    ['timer-throw', 'timer boom'],
    ['reject', 'nobody catches this'],
  ])('"%s": the call fails UnhandledInvocationError, the gateway keeps serving', async (how, message) => {
    const error = await failureOf(how);
    expect(error).toMatchObject({ code: ErrorCode.UnhandledInvocationError, errorType: 'Error', errorMessage: message });
    expect(Number(await inside('pid'))).toBe(proc?.child.pid);
    const { payload } = await client.invokeFunction({ serviceName: 'Trusted', functionName: 'outside' });
    expect(JSON.parse(String(payload))).toMatchObject({ eventIsBuffer: true });
  });

  test('a crash fails only the call that crashed, not one running beside it', async () => {
    const beside = inside('wait:300');
    expect(await failureOf('timer-throw')).toMatchObject({ code: ErrorCode.UnhandledInvocationError, errorMessage: 'timer boom' });
    expect(Number(await beside)).toBe(proc?.child.pid);
  });

  test('process.exit throws instead of stopping the gateway', async () => {
    expect(await failureOf('exit')).toMatchObject({ code: ErrorCode.UnhandledInvocationError, errorType: 'ProcessExitRefused' });
    expect(Number(await inside('pid'))).toBe(proc?.child.pid);
  });

  test('FCClient from linkedge-core-sdk reaches another function of the gateway', async () => {
    const payload = JSON.parse((await inside('call:Trusted/outside')).slice('got '.length)) as { event: string };
    expect(payload.event).toBe('from a trusted function');
  });

  test('edgefc list shows where each function runs', async () => {
    const url = /ready on (mqtt:\/\/\S+)/.exec(proc?.output() ?? '')?.[1] ?? '';
    const listed = await runCli(['list', '--json', '--broker', url, '--data', join(dir, 'data')]);
    const { services } = JSON.parse(listed.stdout) as { services: { functions: { name: string; isolation: string }[] }[] };
    expect(services[0]?.functions.map((fn) => [fn.name, fn.isolation])).toEqual([
      ['inside', 'none'],
      ['outside', 'process'],
    ]);
    expect((await runCli(['list', '--broker', url, '--data', join(dir, 'data')])).stdout).toMatch(/^Trusted\s+inside\s+nodejs20\s.*\snone\s*$/m);
  });

  test("the crash is in the function's log, under the request ID of the call that crashed", async () => {
    const error = await failureOf('timer-throw');
    const requestId = String(error['requestId']);
    const logs = await runCli(['logs', 'Trusted/inside', '--local', '--data', join(dir, 'data'), `--request-id=${requestId}`]);
    expect(logs.stdout).toContain('uncaught Error: timer boom');
  });
});
