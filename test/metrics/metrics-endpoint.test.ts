/**
 * `edgefc start --metrics HOST:PORT` as a real process: /metrics read with a Prometheus
 * text-format parser moves with real calls, wants the token in <data>/metrics.token; /readyz and
 * /healthz; `edgefc describe` over the CLI never shows environment values; JSON log lines.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

const HELLO = fileURLToPath(new URL('../../functions/helloworld', import.meta.url));
const SECRET = 'not-for-anyone-9f3b1c';

describe('metrics endpoint and describe (real process)', () => {
  let proc: CliProcess | undefined;
  let dataDir: string;
  let base: string;
  let token: string;

  beforeAll(async () => {
    const dir = await traversableTempDir('edgefc-metrics-');
    dataDir = join(dir, 'data');
    const template = join(dir, 'template.yml');
    await writeFile(
      template,
      [
        'edgefc: 1',
        'services:',
        '  M:',
        '    functions:',
        '      hello:',
        '        runtime: nodejs20',
        '        handler: index.handler',
        `        codeUri: ${HELLO}`,
        '        environmentVariables:',
        `          API_TOKEN: ${SECRET}`,
        '        triggers:',
        '          - { name: t, type: mqtt, topic: sensors/+/temp }',
        '',
      ].join('\n'),
    );
    const port = await freeLoopbackPort();
    const metricsPort = await freeLoopbackPort();
    base = `http://127.0.0.1:${metricsPort}`;
    proc = startCliProcess(['start', '--port', String(port), '--template', template, '--data', dataDir, '--skip-demo', '--metrics', `127.0.0.1:${metricsPort}`, '--log-format', 'json']);
    await proc.waitForOutput(/gateway ready on/, 60_000);
    token = (await readFile(join(dataDir, 'metrics.token'), 'utf8')).trim();
  }, 90_000);

  afterAll(async () => {
    await stopProcess(proc);
  });

  const scrape = async (): Promise<ParsedFamily[]> => {
    const response = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return parsePrometheusTextFormat(await response.text());
  };
  const sample = (families: ParsedFamily[], name: string, labels: Record<string, string>): number => {
    const family = families.find((f) => f.name === name);
    const found = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return Number(found?.value ?? found?.count ?? 0);
  };

  it('keeps the token in a 0600 file and refuses /metrics without it', async () => {
    expect((await stat(join(dataDir, 'metrics.token'))).mode & 0o777).toBe(0o600);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect(proc?.output()).not.toContain(token);
  });

  it('answers /healthz and /readyz; the reasons only with the token', async () => {
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);
    const detail = await fetch(`${base}/readyz`, { headers: { authorization: `Bearer ${token}` } });
    expect(detail.status).toBe(200);
    expect(await detail.json()).toEqual({ ready: true, broker: true, store: true, template: true, reasons: [] });
  });

  it('counts real calls by function, type and outcome, with latency histograms', async () => {
    const labels = { function: 'M/hello', type: 'Sync', outcome: 'ok' };
    const before = sample(await scrape(), 'edgefc_invocations_total', labels);
    for (let i = 0; i < 3; i += 1) {
      const { code, stderr } = await runCli(['invoke', 'M/hello', '--data', dataDir, '--payload', 'hi']);
      expect(code, stderr).toBe(0);
    }
    const families = await scrape();
    expect(sample(families, 'edgefc_invocations_total', labels)).toBe(before + 3);
    // The parser folds a histogram's label sets into one bucket map (it keeps only `le`): with
    // one function deployed, that map is M/hello's.
    for (const name of ['edgefc_handler_duration_seconds', 'edgefc_sync_request_duration_seconds']) {
      const histogram = families.find((f) => f.name === name);
      expect(histogram?.type).toBe('HISTOGRAM');
      expect(Number(histogram?.metrics[0]?.buckets?.['+Inf'])).toBeGreaterThanOrEqual(3);
    }
    expect(sample(families, 'edgefc_cold_starts_total', { function: 'M/hello' })).toBeGreaterThanOrEqual(1);
    expect(sample(families, 'edgefc_instances', { function: 'M/hello' })).toBeGreaterThanOrEqual(1);
    for (const name of ['edgefc_queue_depth', 'edgefc_async_backlog', 'edgefc_async_oldest_waiting_seconds', 'edgefc_broker_connections', 'edgefc_process_resident_memory_bytes', 'edgefc_nodejs_eventloop_lag_seconds']) {
      expect(families.map((f) => f.name)).toContain(name);
    }
  });

  it('edgefc describe shows the spec and environment variable names, never their values', async () => {
    const text = await runCli(['describe', 'M/hello', '--data', dataDir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('environmentVariables: API_TOKEN');
    expect(text.stdout).toContain('sensors/+/temp');
    expect(text.stdout + text.stderr).not.toContain(SECRET);
    const json = await runCli(['describe', 'M/hello', '--data', dataDir, '--json']);
    expect(json.code).toBe(0);
    expect(json.stdout).not.toContain(SECRET);
    const described = JSON.parse(json.stdout) as { function: { environmentVariables: string[] }; invokers: string[]; asyncConfiguration: { maxAsyncRetryAttempts: number } };
    expect(described.function.environmentVariables).toEqual(['API_TOKEN']);
    expect(described.asyncConfiguration.maxAsyncRetryAttempts).toBe(3);
    const missing = await runCli(['describe', 'M/nothere', '--data', dataDir, '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'FunctionNotFound' } });
  });

  it('writes JSON lines with --log-format json, functions\' lines included', async () => {
    await proc?.waitForOutput(/"service":"M","function":"hello"/);
    const lines = (proc?.output() ?? '').split('\n').filter((line) => line.startsWith('{'));
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.find((l) => l['message'] === 'gateway ready')).toMatchObject({ level: 'info', functions: 1 });
    expect(parsed.find((l) => l['function'] === 'hello')).toMatchObject({ service: 'M', level: 'info', text: expect.any(String), requestId: expect.any(String) });
  });
});
