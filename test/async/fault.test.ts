/**
 * The fault test of issue 3: a gateway process is killed with SIGKILL several times while a
 * device pushes 2,000 Async calls. After the last restart every call the gateway answered
 * "accepted" has run at least once; none is missing. Duplicates (a call that was running when
 * the gateway died runs again) are counted and reported, not forbidden: execution is at least once.
 *
 * The broker runs in the test (aedes) or beside it (Mosquitto) so it outlives the gateway; the
 * client retries a call that got no answer with the same request ID, as a device would.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FCClient } from '../../src/index.js';
import { startAedes, startMosquitto, type RunningBroker, type TestBroker } from '../fixtures/brokers.js';
import { CLI, killHard, startCliProcess, type CliProcess } from '../fixtures/cli-process.js';
import { RECORD_CODE, type Run } from './async-env.js';
import { existsSync, readFileSync } from 'node:fs';
import { functionWritableDir, functionWritableFile, traversableTempDir } from '../fixtures/temp-dirs.js';
import { waitFor } from '../fixtures/wait.js';

const CALLS = 2000;
const IN_FLIGHT = 64;
/** Kill the gateway when this many calls have been accepted (and once more while it drains). */
const KILL_AT = [300, 800, 1400];

function template(recordFile: string): string {
  return `edgefc: 1
services:
  Fault:
    functions:
      record:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${JSON.stringify(RECORD_CODE)}
        maxInstances: 2
        instanceConcurrency: 8
        environmentVariables:
          RECORD_FILE: ${JSON.stringify(recordFile)}
`;
}

describe.each(['aedes', 'mosquitto'] as const)('kill -9 during an Async burst (%s)', (kind) => {
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

  it(`every accepted call of ${CALLS} runs at least once across 4 SIGKILLs`, { timeout: 60_000 }, async () => {
    broker = kind === 'aedes' ? await startAedes() : await startMosquitto();
    dir = await functionWritableDir(await traversableTempDir('edgefc-fault-'));
    const recordFile = await functionWritableFile(join(dir, 'runs.jsonl'));
    const templatePath = join(dir, 'template.yml');
    await writeFile(templatePath, template(recordFile));
    const dataDir = join(dir, 'data');
    const start = async (): Promise<CliProcess> => {
      const proc = startCliProcess(['start', '--broker', broker!.url, '--data', dataDir, '--template', templatePath, '--skip-demo', '--log-level', 'warn', '--insecure'], [process.execPath, CLI]);
      await proc.waitForOutput(/edgefc gateway ready on/, 15_000);
      return proc;
    };
    gateway = await start();

    client = new FCClient({ brokerUrl: broker.url, timeout: 1000 });
    await client.connect();
    const accepted = new Set<string>();
    let kills = 0;
    let restarting: Promise<void> | undefined;
    const restart = async (): Promise<void> => {
      kills += 1;
      await killHard(gateway!);
      gateway = await start();
    };
    const maybeKill = (): void => {
      if (restarting === undefined && kills < KILL_AT.length && accepted.size >= (KILL_AT[kills] ?? Infinity)) {
        restarting = restart().finally(() => {
          restarting = undefined;
        });
      }
    };

    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= CALLS) return;
        const requestId = `fault-${i}`;
        // A device's retry loop: the same request ID until the gateway says "accepted".
        for (;;) {
          try {
            await client!.invokeFunction({ serviceName: 'Fault', functionName: 'record', invocationType: 'Async', payload: `call ${i}`, requestId });
            accepted.add(requestId);
            maybeKill();
            break;
          } catch (error) {
            const code = (error as { code?: string }).code;
            if (code !== 'RequestTimeout' && code !== 'ServiceUnavailable') throw error;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => worker()));
    // One more kill while the backlog is still being run, then the last restart.
    await restarting;
    await restart();

    const runs = (): Run[] =>
      existsSync(recordFile) ? readFileSync(recordFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Run) : [];
    await waitFor(
      () => {
        const ran = new Set(runs().map((r) => r.requestId));
        const missing = [...accepted].filter((id) => !ran.has(id));
        expect(missing.length, `missing: ${missing.slice(0, 5).join(', ')}`).toBe(0);
      },
      { timeout: 30_000, interval: 200 },
    );
    const all = runs();
    const duplicates = all.length - new Set(all.map((r) => r.requestId)).size;
    console.log(`[fault ${kind}] ${CALLS} calls, ${accepted.size} accepted, ${kills} SIGKILLs, ${all.length} runs, ${duplicates} duplicate runs`);
    expect(accepted.size).toBe(CALLS);
    expect(kills).toBe(KILL_AT.length + 1);
  });
});
