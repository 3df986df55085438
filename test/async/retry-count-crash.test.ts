/**
 * retryCount after a crash (issue 12): a gateway process is killed with SIGKILL many times while
 * it runs a backlog of short Async calls, so every kill lands in the middle of runs. A call that
 * was running then runs again after the restart (at least once), and that later run must see a
 * strictly higher `context.retryCount` than the one before it: the `running` state with its
 * attempt number is on disk before a handler starts (gateway/async/async-service.ts #startCall).
 *
 * The broker (aedes) runs in the test so it outlives the gateway; every call is accepted before
 * the first kill.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FCClient } from '../../src/index.js';
import { startAedes, type RunningBroker, type TestBroker } from '../fixtures/brokers.js';
import { CLI, killHard, startCliProcess, type CliProcess } from '../fixtures/cli-process.js';
import { functionWritableDir, functionWritableFile, traversableTempDir } from '../fixtures/temp-dirs.js';
import { RECORD_CODE, type Run } from './async-env.js';
import { waitFor } from '../fixtures/wait.js';

const CALLS = 600;
/** Each run holds this long: 16 run at once, so a kill finds several of them just started. */
const HOLD_MS = 30;
const KILLS = 8;
/** Kill once this many runs started since the gateway was last (re)started. */
const RUNS_PER_KILL = 40;

function template(recordFile: string): string {
  return `edgefc: 1
services:
  Crash:
    functions:
      record:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${JSON.stringify(RECORD_CODE)}
        maxInstances: 2
        instanceConcurrency: 8
        environmentVariables:
          RECORD_FILE: ${JSON.stringify(recordFile)}
        asyncConfiguration:
          maxAsyncRetryAttempts: 8
`;
}

describe('retryCount across kill -9 of the gateway', () => {
  let broker: RunningBroker<TestBroker> | undefined;
  let gateway: CliProcess | undefined;
  let client: FCClient | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await client?.close();
    if (gateway !== undefined && gateway.child.exitCode === null && gateway.child.signalCode === null) await killHard(gateway);
    await broker?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it(`every second run of a request ID sees a higher retryCount (${KILLS} SIGKILLs mid-run)`, { timeout: 120_000 }, async () => {
    broker = await startAedes();
    dir = await functionWritableDir(await traversableTempDir('edgefc-retrycount-'));
    const recordFile = await functionWritableFile(join(dir, 'runs.jsonl'));
    const templatePath = join(dir, 'template.yml');
    await writeFile(templatePath, template(recordFile));
    const dataDir = join(dir, 'data');
    const runs = (): Run[] =>
      existsSync(recordFile) ? readFileSync(recordFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Run) : [];
    const start = async (): Promise<CliProcess> => {
      const proc = startCliProcess(['start', '--broker', broker!.url, '--data', dataDir, '--template', templatePath, '--skip-demo', '--log-level', 'warn', '--insecure'], [process.execPath, CLI]);
      await proc.waitForOutput(/edgefc gateway ready on/, 15_000);
      return proc;
    };
    gateway = await start();

    client = new FCClient({ brokerUrl: broker.url, timeout: 5000 });
    await client.connect();
    const ids = Array.from({ length: CALLS }, (_, i) => `crash-${i}`);
    await Promise.all(
      ids.map((requestId) => client!.invokeFunction({ serviceName: 'Crash', functionName: 'record', invocationType: 'Async', payload: String(HOLD_MS), requestId })),
    );

    for (let kill = 0; kill < KILLS; kill += 1) {
      const before = runs().length;
      await waitFor(() => expect(runs().length).toBeGreaterThanOrEqual(before + RUNS_PER_KILL), { timeout: 30_000, interval: 5 });
      await killHard(gateway);
      gateway = await start();
    }

    await waitFor(
      () => {
        const ran = new Set(runs().map((r) => r.requestId));
        const missing = ids.filter((id) => !ran.has(id));
        expect(missing.length, `missing: ${missing.slice(0, 5).join(', ')}`).toBe(0);
      },
      { timeout: 60_000, interval: 200 },
    );

    const byId = new Map<string, number[]>();
    for (const run of runs()) byId.set(run.requestId, [...(byId.get(run.requestId) ?? []), run.retryCount]);
    const repeated = [...byId].filter(([, counts]) => counts.length > 1);
    const notHigher = repeated.filter(([, counts]) => counts.some((count, i) => i > 0 && count <= (counts[i - 1] ?? -1)));
    console.log(`[retryCount] ${CALLS} calls, ${KILLS} SIGKILLs, ${repeated.length} request IDs ran more than once, ${notHigher.length} of them without a higher retryCount`);
    // The kills land mid-run, so some calls must have run twice, or this test proves nothing.
    expect(repeated.length).toBeGreaterThan(0);
    expect(notHigher.map(([id, counts]) => `${id}: ${counts.join(',')}`)).toEqual([]);
  });
});
