/**
 * The non-Node samples in functions/template.yml (service Runtimes) run as the README says,
 * through the runtime registry the gateway uses: each function gets the runtime its template
 * `runtime` names.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { FunctionLogLine } from '../../gateway/logging/function-log.js';
import { loadTemplate } from '../../gateway/registry/load-template.js';
import { Registry } from '../../gateway/registry/registry.js';
import { FunctionPool } from '../../gateway/runtime/function-pool.js';
import { RuntimeRegistry } from '../../gateway/runtime/runtime-registry.js';
import { invocation, rejectionOf } from './harness.js';

const root = path.resolve(import.meta.dirname, '../..');
const logs: FunctionLogLine[] = [];
let runtimes: RuntimeRegistry;
let pools: Map<string, FunctionPool>;

beforeAll(async () => {
  const registry = new Registry(await loadTemplate(path.join(root, 'functions/template.yml'), { env: {} }));
  runtimes = new RuntimeRegistry();
  pools = new Map();
  for (const name of ['customweb', 'customevent', 'goapi']) {
    const { service, fn } = registry.lookup('Runtimes', name);
    pools.set(name, new FunctionPool(runtimes, { service, fn, identity: registry.identity, brokerUrl: '', onLog: (l) => logs.push(l) }));
  }
});

afterAll(async () => {
  await Promise.all([...pools.values()].map((pool) => pool.close({ graceMs: 0 })));
  await runtimes.close();
});

const pool = (name: string): FunctionPool => pools.get(name)!;

describe('Runtimes samples', () => {
  test('customweb greets, fails handled on an empty event, and runs its pre-stop on shutdown', async () => {
    const call = invocation({ payload: 'Ada' });
    const answer = JSON.parse((await pool('customweb').invoke(call)).payload.toString()) as Record<string, string>;
    expect(answer).toMatchObject({ greeting: 'Hello, Ada!', requestId: call.requestId, function: 'customweb' });
    expect(answer['initializedAt']).not.toBe('');
    const err = await rejectionOf(pool('customweb').invoke(invocation({ payload: '' })));
    expect(err.code).toBe(ErrorCode.HandledInvocationError);
    expect(err['errorType']).toBe('InvalidEvent');
    await pool('customweb').close();
    expect(logs.map((l) => l.message)).toContain('stopping');
  });

  test('customevent answers the event upper-cased; an empty event fails', async () => {
    expect((await pool('customevent').invoke(invocation({ payload: 'abc' }))).payload.toString()).toBe('ABC');
    const err = await rejectionOf(pool('customevent').invoke(invocation({ payload: '' })));
    expect(err['errorType']).toBe('ProcessExited');
    expect(err.message).toContain('custom-event: empty event');
  });

  test('goapi answers like seed 001, and reports a returned error as handled', async () => {
    expect((await pool('goapi').invoke(invocation({ payload: '{"key":"value"}' }))).payload.toString()).toBe('"hello, value!"');
    const err = await rejectionOf(pool('goapi').invoke(invocation({ payload: '{}' })));
    expect(err.code).toBe(ErrorCode.HandledInvocationError);
    expect(err['errorMessage']).toBe('event has no "key"');
  });
});
