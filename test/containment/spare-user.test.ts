/**
 * A Node.js spare (forked as root before its function is known) takes on the function's own
 * user when it adopts the function (child/adopt-function.ts): the function cannot tell it from
 * a process forked as that user. Needs root.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import type { RunAs } from '../../gateway/registry/types.js';
import { rootTitle, runsAsRoot } from '../fixtures/as-root.js';
import { FUNCTIONS_DIR, functionSpec, invocation, parseResult, test } from '../runtime/harness.js';

interface ProcessInfo {
  pid: number;
  uid: number;
  gid: number;
  groups: string;
  cwd: string;
  env: Record<string, string>;
}

const UID = 2_000_060_004;

describe.skipIf(!runsAsRoot('spare as own user'))(rootTitle('a spare process, for a function with a user of its own'), () => {
  test('runs it as that user, as a fork would: uid, gid, no supplementary groups, HOME, cwd', async ({ harness }) => {
    const runAs: RunAs = { uid: UID, gid: UID, home: join(tmpdir(), 'edgefc-home-of-nobody') };
    const processInfo = { dir: 'process-info', handler: 'index.handler', runAs } as const;
    const runtime = harness.runtime({ generateId: () => 'inst-1' });
    runtime.prepare([functionSpec({ name: 'f0', memorySizeMB: 128 })]);
    await expect.poll(() => runtime.spares.prepared).toBe(1);
    const [sparePid] = runtime.spares.pids;
    const onSpare = parseResult<ProcessInfo>(await (await runtime.startInstance(harness.config(processInfo))).invoke(invocation()));
    expect(onSpare.pid).toBe(sparePid);

    const plain = harness.runtime({ spares: false, generateId: () => 'inst-1' });
    const forked = parseResult<ProcessInfo>(await (await plain.startInstance(harness.config(processInfo))).invoke(invocation()));
    expect(forked.pid).not.toBe(sparePid);

    const { pid: _a, ...spareView } = onSpare;
    const { pid: _b, ...forkedView } = forked;
    expect(spareView).toEqual(forkedView);
    expect(onSpare).toMatchObject({ uid: UID, gid: UID, groups: '', cwd: join(FUNCTIONS_DIR, 'process-info') });
    expect(onSpare.env['HOME']).toBe(runAs.home);
  });
});
