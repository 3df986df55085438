/**
 * `edgefc logs` over the admin channel (docs/protocol.md §9.13) as a real CLI process against a
 * real gateway: the same lines as the files hold, pages behind a cursor, --since, --follow
 * across rotations, and bad arguments.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import type { LogPage } from '../../gateway/logging/log-pages.js';
import { ErrorCode } from '../../src/index.js';
import { runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';

let gw: TestGateway;
let admin: AdminClient;

beforeAll(async () => {
  gw = await startTestGateway({ gateway: { logs: { maxFileBytes: 4096, maxFiles: 10 } } });
  admin = new AdminClient({ brokerUrl: gw.url, timeoutMs: 5000 });
});

afterAll(async () => {
  await admin.close();
  await gw.stop();
});

async function hello(payload: string): Promise<string> {
  const { requestId } = await gw.client().invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload });
  return requestId;
}

const remote = (...args: string[]): ReturnType<typeof runCli> => runCli(['logs', ...args, '--broker', gw.url]);

describe('edgefc logs, remote', () => {
  test('prints what --local prints: the tail, one call, JSON lines', async () => {
    const first = await hello('first call');
    await hello('second call');
    await gw.gateway.logs.flush();
    for (const args of [['--tail', '4'], [`--request-id=${first}`, '--json'], ['-n', '7']]) {
      const fromGateway = await remote('EdgeFC/helloworld', ...args);
      const fromFiles = await runCli(['logs', 'EdgeFC/helloworld', '--local', '--data', gw.dataDir, ...args]);
      expect(fromGateway.code, fromGateway.stderr).toBe(0);
      expect(fromGateway.stdout).toBe(fromFiles.stdout);
      expect(fromGateway.stdout).not.toBe('');
    }
    const one = await remote('EdgeFC/helloworld', `--request-id=${first}`, '--json');
    expect(one.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { requestId: string }).every((r) => r.requestId === first)).toBe(true);
    // Seven CLI processes: ~7 s alone on 2 cores, more on a loaded machine.
  }, 60_000);

  test('--since: a duration, an ISO time between two calls, a time to come', async () => {
    await hello('before');
    await gw.gateway.logs.flush();
    // The log's times have millisecond precision, and --since is inclusive: the reply can come
    // back within the millisecond of the call's last line (seen in CI). So `between` is taken
    // in a later millisecond than every 'before' line, and 'after' runs in a later one still.
    const beforeDone = Date.now();
    await expect.poll(() => Date.now() > beforeDone).toBe(true);
    const between = new Date().toISOString();
    await expect.poll(() => Date.now() > Date.parse(between)).toBe(true);
    const after = await hello('after');
    await gw.gateway.logs.flush();
    const since = await remote('EdgeFC/helloworld', '--since', between);
    expect(since.code, since.stderr).toBe(0);
    expect(since.stdout.trimEnd().split('\n')).toEqual([
      `FC Invoke Start RequestId: ${after}`,
      expect.stringMatching(/helloworld event: after$/) as unknown as string,
      expect.stringMatching(/helloworld invokerContext: \{\}$/) as unknown as string,
      `FC Invoke End RequestId: ${after}`,
    ]);
    const day = await remote('EdgeFC/helloworld', '--since', '1d');
    expect(day.stdout).toContain(`FC Invoke End RequestId: ${after}`);
    expect(day.stdout).toContain('helloworld event: before');
    // With --tail too, the later start: the last line only.
    const both = await remote('EdgeFC/helloworld', '--since', '1d', '--tail', '1');
    expect(both.stdout).toBe(`FC Invoke End RequestId: ${after}\n`);
    const future = await remote('EdgeFC/helloworld', '--since', '2100-01-01T00:00:00Z');
    expect(future).toMatchObject({ code: 0, stdout: '' });
  }, 60_000);

  test('pages are bounded and, followed by their cursors, hold every line once', async () => {
    for (let i = 0; i < 20; i += 1) await hello(`page ${i}`);
    await gw.gateway.logs.flush();
    const whole = (await admin.call('logs-read', { function: 'EdgeFC/helloworld', maxBytes: 1024 * 1024 })) as LogPage;
    expect(whole.more).toBe(false);
    const lines: string[] = [];
    let page = (await admin.call('logs-read', { function: 'EdgeFC/helloworld', maxBytes: 1024 })) as LogPage;
    let pages = 1;
    lines.push(...page.lines);
    while (page.more) {
      expect(Buffer.byteLength(page.lines.join('\n'))).toBeLessThan(1024 + 8 * 1024 * 4);
      page = (await admin.call('logs-read', { function: 'EdgeFC/helloworld', cursor: page.cursor, maxBytes: 1024 })) as LogPage;
      lines.push(...page.lines);
      pages += 1;
    }
    expect(pages).toBeGreaterThan(3);
    expect(lines).toEqual(whole.lines);
    expect(page.cursor).toBe(whole.cursor);

    // A call that is not there: bounded pages with no line, that still reach the end.
    let search = (await admin.call('logs-read', { function: 'EdgeFC/helloworld', requestId: 'none-such', maxBytes: 1024 })) as LogPage;
    let searches = 1;
    while (search.more) {
      expect(search.lines).toEqual([]);
      search = (await admin.call('logs-read', { function: 'EdgeFC/helloworld', requestId: 'none-such', cursor: search.cursor, maxBytes: 1024 })) as LogPage;
      searches += 1;
    }
    expect(search).toMatchObject({ lines: [], cursor: whole.cursor });
    expect(searches).toBeLessThan(pages);
  });

  test('bad arguments: exit 2 before connecting; a function with no log, exit 1; a bad cursor, InvalidArgument', async () => {
    const since = await remote('EdgeFC/helloworld', '--since', 'yesterday');
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since');
    const none = await remote('EdgeFC/jsonfield');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('FunctionNotFound: no log for EdgeFC/jsonfield');
    const json = await remote('EdgeFC/jsonfield', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: ErrorCode.FunctionNotFound } });
    await expect(admin.call('logs-read', { function: 'EdgeFC/helloworld', cursor: '../x' })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await expect(admin.call('logs-read', { function: '../../etc/passwd' })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await expect(admin.call('logs-read', { function: 'EdgeFC/helloworld', tail: -1 })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  }, 60_000);

  test('--follow prints new lines as they come, also across rotations, until SIGTERM', async () => {
    let follower: CliProcess | undefined;
    try {
      follower = startCliProcess(['logs', 'EdgeFC/helloworld', '--broker', gw.url, '--follow', '--tail', '0']);
      const warmUps: string[] = [];
      await expect
        .poll(
          async () => {
            warmUps.push(await hello('warm up'));
            await gw.gateway.logs.flush();
            return warmUps.some((id) => follower?.output().includes(`FC Invoke End RequestId: ${id}`));
          },
          { timeout: 15_000, interval: 500 },
        )
        .toBe(true);
      // ~250 bytes per call against 4 KiB files: 30 calls rotate about twice within a poll.
      const ids: string[] = [];
      for (let i = 0; i < 30; i += 1) ids.push(await hello(`call ${i}`));
      await gw.gateway.logs.flush();
      await follower.waitForOutput(new RegExp(`FC Invoke End RequestId: ${ids.at(-1) ?? ''}`), 15_000);
      const output = follower.output();
      const starts = output.split('\n').filter((l) => l.startsWith('FC Invoke Start RequestId: '));
      expect(ids.filter((id) => starts.filter((l) => l === `FC Invoke Start RequestId: ${id}`).length !== 1), output).toEqual([]);
    } finally {
      expect(await stopProcess(follower)).toBe(0);
    }
  }, 60_000);
});
