/**
 * A hostile function harms nobody else: while one burns a CPU core in an endless loop, allocates
 * 1 GiB or exits, the gateway keeps answering its neighbours, and its own memory stays flat
 * (function memory lives in the function's process, which is killed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import type { FCClient } from '../../src/index.js';

let env: TestGateway;
let client: FCClient;

beforeAll(async () => {
  env = await startTestGateway();
  client = env.client();
  await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' }); // warm
});

afterAll(async () => {
  await env?.stop();
});

async function failureOf(how: string): Promise<Record<string, unknown>> {
  try {
    await client.invokeFunction({ serviceName: 'Test', functionName: 'hostile', payload: how, timeout: 10_000 });
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error(`hostile "${how}" did not fail`);
}

/** The neighbour answers every call, each within its own 1 s budget, while `hostile` runs. */
async function neighbourKeepsAnswering(hostile: Promise<Record<string, unknown>>): Promise<number> {
  let answered = 0;
  let done = false;
  void hostile.finally(() => {
    done = true;
  });
  while (!done) {
    const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', timeout: 1000 });
    expect(payload).toMatch(/hello/i);
    answered += 1;
  }
  return answered;
}

describe('containment', () => {
  it('an endless loop gets FunctionTimeout; the neighbour is served throughout', async () => {
    const hostile = failureOf('loop');
    expect(await neighbourKeepsAnswering(hostile)).toBeGreaterThan(0);
    expect(await hostile).toMatchObject({ code: 'FunctionTimeout' });
  });

  it('1 GiB of Buffers is stopped at memorySize; the gateway’s memory stays flat', async () => {
    const before = process.memoryUsage().rss;
    const hostile = failureOf('bomb');
    await neighbourKeepsAnswering(hostile);
    expect(await hostile).toMatchObject({ code: 'UnhandledInvocationError', errorType: 'MemoryLimitExceeded' });
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('process.exit is an UnhandledInvocationError, and the next call gets a new instance', async () => {
    expect(await failureOf('exit')).toMatchObject({ code: 'UnhandledInvocationError' });
    const { payload } = await client.invokeFunction({ serviceName: 'Test', functionName: 'hostile', payload: 'fine' });
    expect(payload).toBe('behaved');
  });
});
