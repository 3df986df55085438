/**
 * Per-client limits (docs/protocol.md §7.5, gateway/dispatch/client-limits.ts) on a whole
 * gateway with its embedded broker: a client at its in-flight limit is refused with
 * ResourceThrottled, Sync and Async alike, while another client is served; a client over its
 * rate is refused too.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode, type FCClient } from '../../src/index.js';
import { settledCode } from '../fixtures/error-code.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { waitFor } from '../fixtures/wait.js';

const FIXTURES = resolve(fileURLToPath(import.meta.url), '../../fixtures/gateway-functions');
const HOLD_MS = '3000';

let dir: string;
let env: TestGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-limits-'));
  const templatePath = join(dir, 'template.yml');
  // Room for every call in the function itself, so a refusal can only be the client limit's.
  await writeFile(
    templatePath,
    `edgefc: 1
services:
  Limits:
    functions:
      sleep:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${JSON.stringify(join(FIXTURES, 'sleep'))}
        timeout: 10
        instanceConcurrency: 20
        maxQueueLength: 100
`,
  );
  env = await startTestGateway({ templatePath, gateway: { clientLimits: { maxInFlight: 3, callsPerSecond: 1, burst: 6 } } });
});

afterAll(async () => {
  await env?.stop();
  await rm(dir, { recursive: true, force: true });
});

function sleep(client: FCClient, ms: string, invocationType: 'Sync' | 'Async' = 'Sync'): Promise<unknown> {
  return client.invokeFunction({ serviceName: 'Limits', functionName: 'sleep', payload: ms, invocationType, timeout: 10_000 });
}

async function refusal(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call;
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('the call was not refused');
}

describe('per-client limits', () => {
  test('a client at its in-flight limit gets ResourceThrottled (Sync and Async); another client is served', async () => {
    const greedy = env.client({ clientId: 'greedy' });
    const polite = env.client({ clientId: 'polite' });
    const held = [sleep(greedy, HOLD_MS), sleep(greedy, HOLD_MS), sleep(greedy, HOLD_MS)];
    await waitFor(() => expect(env.gateway.stats().find((row) => row.function === 'sleep')?.running).toBe(3), { timeout: 10_000 });

    const sync = await refusal(sleep(greedy, '0'));
    expect(sync).toMatchObject({ code: ErrorCode.ResourceThrottled });
    expect(sync.message).toMatch(/client greedy has 3 calls in flight/);
    expect(await refusal(sleep(greedy, '0', 'Async'))).toMatchObject({ code: ErrorCode.ResourceThrottled });

    // Meanwhile another client is served, Sync and Async.
    expect(await sleep(polite, '0')).toMatchObject({ payload: 'slept 0' });
    expect(await settledCode(sleep(polite, '0', 'Async'))).toBe('ok');

    // Once its calls have finished, the greedy client is served again.
    expect(await Promise.all(held)).toHaveLength(3);
    expect(await sleep(greedy, '0')).toMatchObject({ payload: 'slept 0' });
  });

  test('a client over its rate gets ResourceThrottled; its burst went through', async () => {
    const hasty = env.client({ clientId: 'hasty' });
    // Burst 6, refill 1/s: six calls pass at once, the seventh finds the bucket empty.
    for (let i = 0; i < 6; i++) await sleep(hasty, '0');
    const over = await refusal(sleep(hasty, '0'));
    expect(over).toMatchObject({ code: ErrorCode.ResourceThrottled });
    expect(over.message).toMatch(/client hasty is over its rate of 1 calls\/s \(burst 6\)/);
  });
});
