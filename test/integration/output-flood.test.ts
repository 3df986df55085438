/**
 * A function that floods its output (test/fixtures/gateway-functions/flood) must not grow the
 * gateway's memory: each call keeps its 1 MiB of log (docs/logs.md) and the rest is dropped
 * where it is made, in the function process (gateway/logging/output-budget.ts). Measured before:
 * 100 MB of console.log as 1 KiB lines took the gateway from 91 to 461 MB RSS.
 *
 * The gateway is a real `edgefc start` process, measured from outside (/proc/<pid>/status).
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FCClient } from '../../src/index.js';
import { operatorLogin, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';
import { MB, vmRssBytes } from '../fixtures/proc-status.js';
import { waitFor } from '../fixtures/wait.js';

const FIXTURES = resolve(fileURLToPath(import.meta.url), '../../fixtures/gateway-functions');

let dir: string;
let proc: CliProcess | undefined;
let client: FCClient;
let pid: number;

beforeAll(async () => {
  dir = await traversableTempDir('edgefc-flood-');
  const file = join(dir, 'template.yml');
  // memorySize 512: the function itself holds a 100 MB string for the one-line floods.
  await writeFile(
    file,
    `edgefc: 1
services:
  Flood:
    functions:
      flood:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${JSON.stringify(join(FIXTURES, 'flood'))}
        timeout: 60
        memorySize: 512
`,
  );
  proc = startCliProcess(['start', '--template', file, '--port', '0', '--data', join(dir, 'data'), '--skip-demo', '--store-sync', 'off']);
  await proc.waitForOutput(/ready on (mqtt:\/\/\S+)/);
  const url = /ready on (mqtt:\/\/\S+)/.exec(proc.output())?.[1] ?? '';
  pid = proc.child.pid as number;
  client = new FCClient({ brokerUrl: url, timeout: 60_000, ...(await operatorLogin(join(dir, 'data'))) });
});

afterAll(async () => {
  await client?.close();
  await stopProcess(proc);
  await rm(dir, { recursive: true, force: true });
});

function flood(event: string): Promise<string> {
  return client.invokeFunction({ serviceName: 'Flood', functionName: 'flood', payload: event }).then(({ requestId }) => requestId);
}

/** The function's log files (current and rotated), concatenated. */
async function functionLog(): Promise<string> {
  const logDir = join(dir, 'data', 'logs', 'Flood');
  const files = (await readdir(logDir)).filter((name) => name.startsWith('flood.log'));
  const texts = await Promise.all(files.map((name) => readFile(join(logDir, name), 'utf8')));
  return texts.join('\n');
}

/** The call's lines in its log, once its end frame is there. */
async function callLog(requestId: string): Promise<string[]> {
  let lines: string[] = [];
  await waitFor(
    async () => {
      lines = (await functionLog()).split('\n').filter((line) => line.includes(requestId));
      if (!lines.includes(`FC Invoke End RequestId: ${requestId}`)) throw new Error(`${requestId} has not ended in the log yet`);
    },
    { timeout: 15_000, interval: 50 },
  );
  return lines;
}

/** Bytes the call's marker line says were dropped (0 without one). */
function droppedBytes(lines: string[]): number {
  const marker = lines.map((line) => /\[WARN\] … \[edgefc: (\d+) bytes of output dropped/.exec(line)).find((match) => match !== null);
  return Number(marker?.[1] ?? 0);
}

describe('output floods', () => {
  test('100 MB of output per call, every shape and stream: gateway RSS +20 MB at most', async () => {
    // Warm every path (instance, IPC, pipes, log file) so the baseline holds what any call needs.
    await callLog(await flood('lines:console.log:2'));
    await callLog(await flood('lines:stdout:2'));
    const start = await vmRssBytes(pid);
    const logs: Record<string, string[]> = {};
    const growth: Record<string, number> = {};
    for (const shape of ['lines:console.log:100', 'line:console.log:100', 'lines:console.error:100', 'lines:stdout:100', 'line:stderr:100']) {
      const before = await vmRssBytes(pid);
      let peak = before;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, await vmRssBytes(pid));
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      try {
        logs[shape] = await callLog(await flood(shape));
      } finally {
        sampling = false;
        await sampler;
      }
      growth[shape] = peak - before;
    }
    const end = await vmRssBytes(pid);
    const logBytes = Buffer.byteLength(await functionLog());
    console.log(
      `gateway VmRSS ${(start / MB).toFixed(1)} MB -> ${(end / MB).toFixed(1)} MB over five floods; peak growth per flood (MB): ` +
        `${Object.entries(growth).map(([shape, bytes]) => `${shape} +${(bytes / MB).toFixed(1)}`).join(', ')}; log files ${(logBytes / MB).toFixed(1)} MB for 504 MB of output`,
    );
    // Each call kept at most its 1 MiB; the rest was dropped where it was made, and the log says so.
    for (const shape of ['lines:console.log:100', 'lines:console.error:100', 'lines:stdout:100', 'line:stderr:100']) {
      expect(droppedBytes(logs[shape] ?? [])).toBeGreaterThan(98 * MB);
    }
    // console.log of one 100 MB string is one line, cut at 8 Ki characters.
    expect(logs['line:console.log:100']?.some((line) => line.endsWith('…[truncated]'))).toBe(true);
    expect(logBytes).toBeLessThan(12 * MB);
    for (const bytes of Object.values(growth)) expect(bytes).toBeLessThanOrEqual(20 * MB);
    // Nothing accumulates: 500 MB of output leave the gateway within what its 5 MB of kept log cost.
    expect(end - start).toBeLessThanOrEqual(30 * MB);
  });
});
