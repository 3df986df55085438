/**
 * `edgefc logs` (docs/logs.md §3) as a real CLI process against the files a real gateway wrote:
 * the tail, one call by request ID, JSON lines, and --follow across rotations.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  // Small files, so a few dozen calls rotate them while `--follow` watches. Ten files: a
  // follower keeps up with at most maxFiles − 1 rotations between two of its polls, and on a
  // loaded machine one poll can be late by all four rotations of the burst below.
  gw = await startTestGateway({ gateway: { logs: { maxFileBytes: 4096, maxFiles: 10 } } });
});

afterAll(async () => {
  await gw.stop();
});

async function hello(payload: string): Promise<string> {
  const { requestId } = await gw.client().invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload });
  return requestId;
}

describe('edgefc logs', () => {
  test('prints the tail: frames and lines of the last calls; --request-id keeps one call', async () => {
    const first = await hello('first call');
    const second = await hello('second call');
    await gw.gateway.logs.flush();

    // The sample writes two lines per call: the event and the invokerContext.
    const tail = await runCli(['logs', 'EdgeFC/helloworld', '--local', '--data', gw.dataDir, '--lines', '4']);
    expect(tail.code).toBe(0);
    const lines = tail.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(`FC Invoke Start RequestId: ${second}`);
    expect(lines[1]).toMatch(new RegExp(`^\\S+Z ${second} \\[INFO\\] helloworld event: second call$`));
    expect(lines[3]).toBe(`FC Invoke End RequestId: ${second}`);

    const one = await runCli(['logs', 'EdgeFC/helloworld', '--local', '--data', gw.dataDir, `--request-id=${first}`]);
    expect(one.stdout.trimEnd().split('\n')).toEqual([
      `FC Invoke Start RequestId: ${first}`,
      expect.stringMatching(/helloworld event: first call$/) as unknown as string,
      expect.stringMatching(/helloworld invokerContext: \{\}$/) as unknown as string,
      `FC Invoke End RequestId: ${first}`,
    ]);

    const json = await runCli(['logs', 'EdgeFC/helloworld', '--local', '--data', gw.dataDir, `--request-id=${first}`, '--json']);
    const records = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toEqual([
      { requestId: first, level: 'FRAME', message: `FC Invoke Start RequestId: ${first}` },
      { time: expect.stringMatching(/Z$/) as unknown, requestId: first, level: 'INFO', message: 'helloworld event: first call' },
      { time: expect.stringMatching(/Z$/) as unknown, requestId: first, level: 'INFO', message: 'helloworld invokerContext: {}' },
      { requestId: first, level: 'FRAME', message: `FC Invoke End RequestId: ${first}` },
    ]);
  });

  test('a function with no log yet, and bad arguments, exit non-zero with a reason', async () => {
    const none = await runCli(['logs', 'EdgeFC/jsonfield', '--local', '--data', gw.dataDir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no log for EdgeFC/jsonfield');
    const bad = await runCli(['logs', 'EdgeFC/helloworld', '--lines', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--lines');
  });

  test('--follow prints new lines as they come, also across rotations, until SIGTERM', async () => {
    let follower: CliProcess | undefined;
    try {
      follower = startCliProcess(['logs', 'EdgeFC/helloworld', '--local', '--data', gw.dataDir, '--follow', '--lines', '0']);
      // The follower is ready once its first poll ran; a call made before that would be missed
      // by `--lines 0`, so keep calling until one shows up.
      const warmUps: string[] = [];
      await expect
        .poll(
          async () => {
            warmUps.push(await hello('warm up'));
            await gw.gateway.logs.flush();
            return warmUps.some((id) => follower?.output().includes(`FC Invoke End RequestId: ${id}`));
          },
          { timeout: 10_000, interval: 300 },
        )
        .toBe(true);
      // ~250 bytes per call against 4 KiB files: 60 calls rotate about four times, sometimes
      // twice between two polls of the follower (which reads the file rotated in between).
      const ids: string[] = [];
      for (let i = 0; i < 60; i += 1) ids.push(await hello(`call ${i}`));
      await gw.gateway.logs.flush();
      const last = ids.at(-1) ?? '';
      await follower.waitForOutput(new RegExp(`FC Invoke End RequestId: ${last}`), 10_000);
      const output = follower.output();
      const starts = output.split('\n').filter((l) => l.startsWith('FC Invoke Start RequestId: '));
      expect(ids.filter((id) => starts.filter((l) => l === `FC Invoke Start RequestId: ${id}`).length !== 1), output).toEqual([]);
    } finally {
      expect(await stopProcess(follower)).toBe(0);
    }
  });
});
