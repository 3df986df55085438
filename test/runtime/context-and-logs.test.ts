/**
 * What a function sees (context, environment, linkedge-core-sdk) and what it writes (logs).
 */
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { packageRoot } from '../../gateway/runtime/node/child-entry.js';
import { MAX_LOG_LINE_CHARS, TRUNCATION_MARKER } from '../../gateway/runtime/process/log-lines.js';
import { FUNCTIONS_DIR, invocation, parseResult, test } from './harness.js';

describe('context', () => {
  test("has exactly FC's fields, plus invokerContext, signal and retryCount; FC's tracing carries W3C trace context", async ({ harness }) => {
    const pool = harness.pool({
      handler: 'index.context',
      memorySizeMB: 256,
      timeoutMs: 3_000,
      initializer: 'index.init',
      initializationTimeoutMs: 1_500,
    });
    const inv = invocation();
    const context = parseResult(await pool.invoke(inv));
    expect(context).toEqual({
      requestId: inv.requestId,
      credentials: { accessKeyId: 'AK', accessKeySecret: 'SK', securityToken: 'TOKEN' },
      function: {
        name: 'fn',
        handler: 'index.context',
        memory: 256,
        timeout: 3,
        initializer: 'index.init',
        initializationTimeout: 1.5,
      },
      service: { name: 'svc', logProject: 'proj', logStore: 'store', qualifier: 'LATEST', versionId: '7' },
      region: 'cn-test-1',
      accountId: '1234567890',
      invokerContext: {},
      signal: true,
      retryCount: 0,
      // docs/protocol.md §3.7.5: empty when the call came without trace context.
      tracing: { traceparent: '', tracestate: '', openTracingSpanContext: '', openTracingSpanBaggages: {}, jaegerEndpoint: '' },
      keys: [
        'accountId',
        'credentials',
        'function',
        'invokerContext',
        'region',
        'requestId',
        'retryCount',
        'service',
        'signal',
        'tracing',
      ],
    });
  });

  test('invokerContext and qualifier are passed through', async ({ harness }) => {
    const pool = harness.pool({ handler: 'index.context' });
    const invokerContext = { custom: { data: 'Custom data from Invoker' }, n: [1, 2] };
    const result = await pool.invoke(invocation({ invokerContext, qualifier: 'prod' }));
    const context = parseResult<{
      invokerContext: unknown;
      service: { qualifier: string };
      function: { initializer: string };
    }>(result);
    expect(context.invokerContext).toEqual(invokerContext);
    expect(context.service.qualifier).toBe('prod');
    expect(context.function.initializer).toBe('');
  });
});

describe('environment', () => {
  test("carries the function's variables, FC_* and EDGEFC_BROKER_URL, not the gateway's env", async ({
    harness,
  }) => {
    process.env['EDGEFC_TEST_SECRET'] = 'must not leak';
    try {
      const pool = harness.pool({ handler: 'index.env', environmentVariables: { GREETING: 'hi', FC_REGION: 'spoofed' } });
      const env = parseResult<Record<string, string>>(await pool.invoke(invocation()));
      expect(env).toMatchObject({
        GREETING: 'hi',
        EDGEFC_BROKER_URL: 'mqtt://127.0.0.1:1883',
        FC_FUNCTION_NAME: 'fn',
        FC_SERVICE_NAME: 'svc',
        FC_FUNC_CODE_PATH: join(FUNCTIONS_DIR, 'basic'),
        FC_REGION: 'cn-test-1',
        FC_ACCOUNT_ID: '1234567890',
        FC_FUNCTION_MEMORY_SIZE: '128',
        FC_FUNCTION_TIMEOUT: '5',
        NODE_PATH: join(packageRoot, 'runtime-modules'),
      });
      expect(env['EDGEFC_TEST_SECRET']).toBeUndefined();
      expect(env['PATH']).toBe(process.env['PATH']);
    } finally {
      delete process.env['EDGEFC_TEST_SECRET'];
    }
  });
});

describe('linkedge-core-sdk', () => {
  const shim = join(packageRoot, 'runtime-modules', 'linkedge-core-sdk');

  test('require() from CommonJS resolves to our SDK and exposes FCClient', async ({ harness }) => {
    const result = await harness.pool({ handler: 'index.sdk' }).invoke(invocation());
    const { resolved, fcClient } = parseResult<{ resolved: string; fcClient: string }>(result);
    expect(resolved).toBe(join(shim, 'index.cjs'));
    // The shim require()s the SDK package (node_modules/edgefc → src/dist), which must load and export FCClient.
    expect(fcClient).toBe('function');
  });

  test('import from an ES module resolves to our SDK and exposes FCClient', async ({ harness }) => {
    const result = await harness.pool({ dir: 'esm', handler: 'index.sdk' }).invoke(invocation());
    const { resolved, fcClient } = parseResult<{ resolved: string; fcClient: string }>(result);
    expect(resolved).toBe(`file://${join(shim, 'index.mjs')}`);
    expect(fcClient).toBe('function');
  });
});

describe('logs', () => {
  test('console.* lines carry the request ID and level, also across concurrent calls', async ({ harness }) => {
    const pool = harness.pool({ handler: 'index.logs', instanceConcurrency: 2 });
    const a = invocation({ payload: 'A' });
    const b = invocation({ payload: 'B' });
    await Promise.all([pool.invoke(a), pool.invoke(b)]);
    expect(harness.pids).toHaveLength(1);
    for (const [inv, tag] of [
      [a, 'A'],
      [b, 'B'],
    ] as const) {
      const lines = harness.logs
        .filter((line) => line.requestId === inv.requestId)
        .map((line) => [line.level, line.message]);
      expect(lines).toEqual([
        ['info', `log ${tag}`],
        ['info', `info ${tag}`],
        ['warn', `warn ${tag}`],
        ['error', `error ${tag}`],
        ['verbose', `debug ${tag}`],
        ['info', `later ${tag}`],
      ]);
    }
    expect(harness.logs.every((line) => line.serviceName === 'svc' && line.functionName === 'fn')).toBe(true);
  });

  test('raw stdout/stderr become log lines, long lines are capped', async ({ harness }) => {
    const pool = harness.pool({ handler: 'index.stdout' });
    const inv = invocation();
    await pool.invoke(inv);
    await expect.poll(() => harness.logs.length).toBe(2);
    const [out, err] = harness.logs;
    expect(out).toMatchObject({ level: 'info', message: 'raw line' });
    expect(err?.level).toBe('error');
    expect(err?.message).toBe('x'.repeat(MAX_LOG_LINE_CHARS) + TRUNCATION_MARKER);
  });
});
