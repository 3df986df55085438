/**
 * FC's frame lines around every call and initializer run, for every runtime (docs/logs.md §1),
 * with real processes: the contract fixtures (test/fixtures/runtimes) and a runtime API client
 * that frames its own calls as fc-runtime-go-sdk does (fixtures/sdk-api).
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { FunctionLogFrame, FunctionLogLine } from '../../gateway/logging/function-log.js';
import type { FunctionSpec } from '../../gateway/registry/types.js';
import { FunctionPool } from '../../gateway/runtime/function-pool.js';
import { invocation, rejectionOf } from '../runtime/harness.js';
import { op, test, type ContractHarness } from '../runtime-contract/harness.js';
import { initializerOf, targets, type ContractTarget } from '../runtime-contract/targets.js';

const SDK_API = resolve(fileURLToPath(import.meta.url), '../fixtures/sdk-api');

type Event = { frame: FunctionLogFrame } | { line: FunctionLogLine };

/** A pool whose lines and frames land in one list, in the order the gateway saw them. */
function framedPool(harness: ContractHarness, target: ContractTarget, overrides: Partial<FunctionSpec> = {}): { pool: FunctionPool; events: Event[] } {
  const events: Event[] = [];
  const config = {
    ...harness.config(target, overrides),
    onLog: (line: FunctionLogLine) => events.push({ line }),
    onFrame: (frame: FunctionLogFrame) => events.push({ frame }),
  };
  return { pool: new FunctionPool(harness.runtime(target), config), events };
}

/** The frames of one call, as `Phase Edge[: error]` strings. */
function framesOf(events: Event[], requestId: string): string[] {
  return events.flatMap((e) =>
    'frame' in e && e.frame.requestId === requestId ? [`${e.frame.phase} ${e.frame.edge}${e.frame.error === undefined ? '' : `: ${e.frame.error}`}`] : [],
  );
}

function indexOfLine(events: Event[], message: string): number {
  return events.findIndex((e) => 'line' in e && e.line.message === message);
}

function indexOfFrame(events: Event[], requestId: string, text: string): number {
  return events.findIndex((e) => 'frame' in e && e.frame.requestId === requestId && `${e.frame.phase} ${e.frame.edge}` === text);
}

for (const target of targets) {
  describe(`frames: ${target.name}`, () => {
    test('a call is framed Start … End, its lines in between', async ({ harness }) => {
      const { pool, events } = framedPool(harness, target);
      try {
        const call = invocation({ payload: op('log') });
        await pool.invoke(call);
        const message = `line for ${call.requestId}`;
        // Raw stdout (all but Node.js) travels apart from the answer: wait for it.
        await expect.poll(() => indexOfLine(events, message)).toBeGreaterThan(-1);
        await expect.poll(() => framesOf(events, call.requestId)).toEqual(['Invoke Start', 'Invoke End']);
        expect(indexOfFrame(events, call.requestId, 'Invoke Start')).toBeLessThan(indexOfLine(events, message));
        // Node.js (IPC) and non-web mode (drained pipes) order output before the answer.
        if (target.spec.runtime === 'nodejs20' || target.can.warm === false) {
          expect(indexOfLine(events, message)).toBeLessThan(indexOfFrame(events, call.requestId, 'Invoke End'));
        }
        expect(events.every((e) => ('frame' in e ? e.frame.source === 'gateway' : true))).toBe(true);
      } finally {
        await pool.close({ graceMs: 0 });
      }
    });

    test('a failed call says so on its End line', async ({ harness }) => {
      const { pool, events } = framedPool(harness, target);
      try {
        const crash = invocation({ payload: op('crash') });
        expect((await rejectionOf(pool.invoke(crash))).code).toBe(ErrorCode.UnhandledInvocationError);
        // Frames are log output: the runtime API decides a first call's framing a tick after its
        // answer (runtime-api-instance.ts #frameEnd), so wait for them like any output.
        await expect.poll(() => framesOf(events, crash.requestId)).toEqual(['Invoke Start', 'Invoke End: Unhandled function error']);
        if (target.can.handled) {
          const handled = invocation({ payload: op('handled') });
          expect((await rejectionOf(pool.invoke(handled))).code).toBe(ErrorCode.HandledInvocationError);
          await expect.poll(() => framesOf(events, handled.requestId)).toEqual(['Invoke Start', 'Invoke End: Handled function error']);
        }
      } finally {
        await pool.close({ graceMs: 0 });
      }
    });

    if (target.can.initializer) {
      test('the initializer run is framed before the first call', async ({ harness }) => {
        const { pool, events } = framedPool(harness, target, { initializer: initializerOf(target) });
        try {
          const first = invocation({ payload: op('echo', { text: 'a' }) });
          await pool.invoke(first);
          await expect.poll(() => framesOf(events, first.requestId)).toEqual(['Initialize Start', 'Initialize End', 'Invoke Start', 'Invoke End']);
          const second = invocation({ payload: op('echo', { text: 'b' }) });
          await pool.invoke(second);
          await expect.poll(() => framesOf(events, second.requestId)).toEqual(['Invoke Start', 'Invoke End']);
        } finally {
          await pool.close({ graceMs: 0 });
        }
      });
    }
  });
}

describe('frames: go1 binary that frames its own calls (fc-runtime-go-sdk)', () => {
  const target = targets.find((t) => t.spec.runtime === 'go1');
  if (target === undefined) throw new Error('no go1 target');
  const sdk: Partial<FunctionSpec> = { codeDir: SDK_API, initializer: 'initialize' };

  test('its own frame lines are passed through, never doubled, not logged as output', async ({ harness }) => {
    const { pool, events } = framedPool(harness, target, sdk);
    try {
      const calls = [invocation({ payload: op('log') }), invocation({ payload: op('log') }), invocation({ payload: op('handled') })];
      for (const call of calls) await pool.invoke(call).catch(() => undefined);
      const [first, second, third] = calls.map((c) => c.requestId) as [string, string, string];
      await expect.poll(() => framesOf(events, third)).toEqual(['Invoke Start', 'Invoke End']);
      expect(framesOf(events, first)).toEqual(['Initialize Start', 'Initialize End', 'Invoke Start', 'Invoke End']);
      expect(framesOf(events, second)).toEqual(['Invoke Start', 'Invoke End']);
      expect(events.every((e) => ('frame' in e ? e.frame.source === 'function' : !e.line.message.startsWith('FC ')))).toBe(true);
      // Output between the SDK's frames is attributed to its call.
      expect(events).toContainEqual({ line: expect.objectContaining({ requestId: second, message: `line for ${second}` }) as unknown });
    } finally {
      await pool.close({ graceMs: 0 });
    }
  });
});

test('the frames reach FunctionLogs and the files in FC text (smoke)', async ({ harness }) => {
  const target = targets[0];
  if (target === undefined) throw new Error('no targets');
  const { FunctionLogs } = await import('../../gateway/logging/function-logs.js');
  const logs = new FunctionLogs({ dir: join(harness.stateDir, 'logs') });
  const config = {
    ...harness.config(target),
    onLog: (line: FunctionLogLine) => logs.line(line),
    onFrame: (frame: FunctionLogFrame) => logs.frame(frame),
  };
  const pool = new FunctionPool(harness.runtime(target), config);
  try {
    const call = invocation({ payload: op('log') });
    await pool.invoke(call);
    await logs.flush();
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(logs.fileOf('svc', 'fn') ?? '', 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(`FC Invoke Start RequestId: ${call.requestId}`);
    expect(lines[1]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ${call.requestId} \\[INFO\\] line for ${call.requestId}$`));
    expect(lines[2]).toBe(`FC Invoke End RequestId: ${call.requestId}`);
  } finally {
    await pool.close({ graceMs: 0 });
    await logs.close();
  }
});
