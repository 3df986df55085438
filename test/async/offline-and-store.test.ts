/**
 * FCClient's offline queue across a broker restart (docs/protocol.md §10.8), the data directory
 * refusing to start when it cannot be used, and `edgefc invocations` as a process.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/broker/embedded-broker.js';
import { Gateway } from '../../gateway/gateway.js';
import { startMosquitto, type MosquittoTestBroker, type RunningBroker } from '../fixtures/brokers.js';
import { runCli } from '../fixtures/cli-process.js';
import { settledCode } from '../fixtures/error-code.js';
import { startAsyncEnv, type AsyncEnv } from './async-env.js';
import { waitFor } from '../fixtures/wait.js';

describe.each(['aedes', 'mosquitto'] as const)('offline FCClient on %s', (kind) => {
  let aedes: EmbeddedBroker | undefined;
  let mosquitto: RunningBroker<MosquittoTestBroker> | undefined;
  let env: AsyncEnv | undefined;

  afterEach(async () => {
    await env?.stop();
    await aedes?.close();
    await mosquitto?.close();
  });

  it('keeps Async calls made while disconnected, bounded, and sends them with their IDs on reconnect', async () => {
    let url: string;
    let port: number;
    if (kind === 'aedes') {
      aedes = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
      ({ url, port } = aedes);
    } else {
      mosquitto = await startMosquitto();
      ({ url, port } = mosquitto);
    }
    env = await startAsyncEnv(url);
    const client = env.client({ offlineQueueSize: 3, timeout: 3000 });
    await client.invokeFunction({ serviceName: 'Async', functionName: 'sink', invocationType: 'Async', payload: 'online' });

    if (aedes !== undefined) await aedes.close();
    else await mosquitto?.close();
    const ids = ['off-1', 'off-2', 'off-3'].map((id) => `${id}-${kind}`);
    // Give MQTT.js a moment to notice the closed socket: the first call after that is queued.
    await waitFor(async () => {
      const queued = client.invokeFunction({ serviceName: 'Async', functionName: 'sink', invocationType: 'Async', payload: 'probe', requestId: `probe-${kind}-${Date.now()}` });
      queued.catch(() => undefined);
      expect(client.offlineCount).toBeGreaterThan(0);
    });
    const probe = client.offlineCount;
    const calls = ids.slice(0, 3 - probe).map((requestId) =>
      client.invokeFunction({ serviceName: 'Async', functionName: 'sink', invocationType: 'Async', payload: requestId, requestId }),
    );
    expect(client.offlineCount).toBe(3);
    // Past the bound: refused at once, typed, never dropped silently.
    expect(await settledCode(client.invokeFunction({ serviceName: 'Async', functionName: 'sink', invocationType: 'Async', payload: 'x' }))).toBe('ResourceThrottled');

    if (kind === 'aedes') aedes = await startEmbeddedBroker({ host: '127.0.0.1', port });
    else mosquitto = await startMosquitto(port);
    const results = await Promise.all(calls);
    expect(results.map((r) => r.requestId)).toEqual(ids.slice(0, 3 - probe));
    await waitFor(() => {
      for (const id of ids.slice(0, 3 - probe)) expect(env?.runsOf(id)).toHaveLength(1);
    }, { timeout: 10_000 });
    expect(client.offlineCount).toBe(0);
  });
});

describe('the data directory', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const template = join(new URL('../../functions', import.meta.url).pathname, 'template.yml');
  const start = (dataDir: string) => Gateway.start({ templatePath: template, dataDir, host: '127.0.0.1', port: 0, logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, functionLine: () => undefined } });

  it('refuses to start on a corrupt store, naming the directory', async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgefc-data-'));
    writeFileSync(join(dir, 'async.db'), 'this is not a SQLite database, just text that got here somehow '.repeat(100));
    await expect(start(dir)).rejects.toMatchObject({ code: 'ServiceUnavailable', message: expect.stringContaining(`data directory ${dir}`) });
  });

  it('refuses to start where it cannot write, never falling back to memory', async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgefc-data-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    // A path under a regular file cannot be a directory (this holds for root too).
    await expect(start(join(file, 'data'))).rejects.toMatchObject({ code: 'ServiceUnavailable', message: expect.stringContaining('cannot create or write it') });
    if (process.getuid?.() !== 0) {
      const readOnly = join(dir, 'ro');
      await rm(readOnly, { force: true, recursive: true });
      const { mkdirSync } = await import('node:fs');
      mkdirSync(readOnly);
      chmodSync(readOnly, 0o500);
      await expect(start(readOnly)).rejects.toMatchObject({ code: 'ServiceUnavailable' });
      chmodSync(readOnly, 0o700);
    }
  });

  it('the CLI prints the error and exits 1', async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgefc-data-'));
    writeFileSync(join(dir, 'async.db'), 'garbage'.repeat(1000));
    const { code, stderr } = await runCli(['start', '--port', '0', '--data', dir, '--skip-demo']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/ServiceUnavailable: data directory .* is not a usable edgefc store/);
  });
});

describe('edgefc invocations', () => {
  let env: AsyncEnv | undefined;
  afterEach(async () => {
    await env?.stop();
  });

  it('lists, shows and cancels Async invocations as tables and JSON', async () => {
    env = await startAsyncEnv();
    const client = env.client();
    const done = await client.invokeFunction({ serviceName: 'Async', functionName: 'record', invocationType: 'Async', payload: 'cli' });
    await waitFor(async () => expect((await client.getAsyncStatus(done.requestId)).state).toBe('succeeded'));
    const broker = ['--broker', env.url];

    const list = await runCli(['invocations', 'list', '--function', 'Async/record', ...broker]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${done.requestId}\\s+Async/record\\s+succeeded\\s+1`, 'm'));
    const json = await runCli(['invocations', 'list', '--state', 'succeeded', '--json', ...broker]);
    expect(JSON.parse(json.stdout).invocations).toEqual(expect.arrayContaining([expect.objectContaining({ requestId: done.requestId, state: 'succeeded' })]));

    const get = await runCli(['invocations', 'get', done.requestId, ...broker]);
    expect(get.stdout).toMatch(/state:\s+succeeded/);
    expect(get.stdout).toMatch(/result:\s+done:cli/);
    expect(get.stdout).toContain('log tail:');

    // Async/slow: one slot, held until the test releases it; the second call waits and can be
    // cancelled however long the CLI takes to start.
    const release = join(env.dataDir, 'release-slow');
    await client.invokeFunction({ serviceName: 'Async', functionName: 'slow', invocationType: 'Async', payload: `hold-until:${release}` });
    const waiting = await client.invokeFunction({ serviceName: 'Async', functionName: 'slow', invocationType: 'Async', payload: '0' });
    const cancel = await runCli(['invocations', 'cancel', waiting.requestId, ...broker]);
    await writeFile(release, '');
    expect(cancel.stdout).toBe(`cancelled ${waiting.requestId}\n`);
    const again = await runCli(['invocations', 'cancel', waiting.requestId, '--json', ...broker]);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error.code).toBe('InvalidArgument');
    expect((await runCli(['invocations', 'list', '--state', 'bogus', ...broker])).stderr).toMatch(/InvalidArgument/);
    expect((await runCli(['invocations', 'frobnicate', ...broker])).code).toBe(2);
  });

  it('runs a delayed Async call no earlier than its delay (FC\'s x-fc-async-delay), and refuses bad delays', async () => {
    env = await startAsyncEnv();
    const client = env.client();
    const before = Date.now();
    const { requestId } = await client.invokeFunction({ serviceName: 'Async', functionName: 'record', invocationType: 'Async', payload: 'later', asyncDelay: 2 });
    const shown = await runCli(['invocations', 'get', requestId, '--json', '--broker', env.url]);
    const record = (JSON.parse(shown.stdout) as { invocations: Record<string, unknown>[] }).invocations[0] ?? {};
    expect(record['state']).toBe('enqueued');
    expect(Date.parse(String(record['nextAttemptAt']))).toBeGreaterThanOrEqual(before + 2000);
    await waitFor(() => expect(env?.runsOf(requestId)).toHaveLength(1), { timeout: 15_000, interval: 100 });
    expect(env.runsOf(requestId)[0]?.at).toBeGreaterThanOrEqual(before + 2000);

    // The SDK refuses what the gateway would: a delay on a Sync call, or past 3600 s.
    await expect(client.invokeFunction({ serviceName: 'Async', functionName: 'record', payload: 'x', asyncDelay: 1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(client.invokeFunction({ serviceName: 'Async', functionName: 'record', invocationType: 'Async', asyncDelay: 3601 })).rejects.toMatchObject({ code: 'InvalidArgument' });
    // The CLI: --delay with --async; a delay the event age (Async/slow: 1 s) would expire is refused by the gateway.
    const cli = await runCli(['invoke', 'Async/record', '--async', '--delay', '1', '--payload', 'cli later', '--broker', env.url]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect((await runCli(['invoke', 'Async/record', '--delay', '1', '--broker', env.url])).code).toBe(2);
    const tooOld = await runCli(['invoke', 'Async/slow', '--async', '--delay', '1', '--broker', env.url]);
    expect(tooOld.code).not.toBe(0);
    expect(tooOld.stderr).toContain('InvalidArgument');
    expect(tooOld.stderr).toContain('maxAsyncEventAgeInSeconds');
  });

  it('stops a running Async call: its run is cut off, the record says stopped, it is not retried', async () => {
    env = await startAsyncEnv();
    const client = env.client();
    const broker = ['--broker', env.url];
    // Held until a file that is never created appears: only a stop ends it.
    const held = await client.invokeFunction({ serviceName: 'Async', functionName: 'record', invocationType: 'Async', payload: `hold-until:${join(env.dataDir, 'never')}` });
    await waitFor(() => expect(env?.runsOf(held.requestId)).toHaveLength(1));
    const stop = await runCli(['invocations', 'stop', held.requestId, ...broker]);
    expect(stop.stderr).toBe('');
    expect(stop.stdout).toBe(`stopped ${held.requestId}\n`);
    const shown = JSON.parse((await runCli(['invocations', 'get', held.requestId, '--json', ...broker])).stdout) as { invocations: Record<string, unknown>[] };
    expect(shown.invocations[0]).toMatchObject({ state: 'stopped', attempts: 1 });
    expect(String((shown.invocations[0]?.['error'] as { message?: string } | undefined)?.message)).toContain('stopped by an operator');
    expect((await client.getAsyncStatus(held.requestId)).state).toBe('stopped');

    // The function serves the next call (a fresh instance); the stopped one never ran again.
    const next = await client.invokeFunction({ serviceName: 'Async', functionName: 'record', invocationType: 'Async', payload: 'after the stop' });
    await waitFor(async () => expect((await client.getAsyncStatus(next.requestId)).state).toBe('succeeded'));
    expect(env.runsOf(held.requestId)).toHaveLength(1);
    // Finished: nothing to stop.
    const again = await runCli(['invocations', 'stop', held.requestId, '--json', ...broker]);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error.code).toBe('InvalidArgument');
  });
});
