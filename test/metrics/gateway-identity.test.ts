/**
 * One gateway on one box (docs/protocol.md §9.16, docs/operations.md §3): `edgefc cluster
 * status` lists it alone with `mode: single` and its load, and its /metrics says which gateway it
 * is (`edgefc_gateway_info{gateway_id,host,mode,version} 1`), the same ID in both, so one
 * Prometheus scraping several boxes tells them apart.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStatusReport } from '../../gateway/cluster/cluster-status.js';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

const HELLO = fileURLToPath(new URL('../../functions/helloworld', import.meta.url));
const VERSION = (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('a single-box gateway says which it is', () => {
  let proc: CliProcess | undefined;
  let dataDir: string;
  let broker: string;
  let metricsBase: string;

  beforeAll(async () => {
    const dir = await traversableTempDir('edgefc-identity-');
    dataDir = join(dir, 'data');
    const template = join(dir, 'template.yml');
    await writeFile(template, `edgefc: 1\nservices:\n  M:\n    functions:\n      hello:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ${HELLO}\n`);
    const port = await freeLoopbackPort();
    const metricsPort = await freeLoopbackPort();
    broker = `mqtt://127.0.0.1:${port}`;
    metricsBase = `http://127.0.0.1:${metricsPort}`;
    proc = startCliProcess(['start', '--port', String(port), '--template', template, '--data', dataDir, '--skip-demo', '--metrics', `127.0.0.1:${metricsPort}`]);
    await proc.waitForOutput(/gateway ready on/, 60_000);
  }, 90_000);

  afterAll(async () => {
    await stopProcess(proc);
  });

  it('cluster status lists the one gateway, mode single, with its load; the same ID as edgefc_gateway_info', async () => {
    expect((await runCli(['invoke', 'M/hello', '--broker', broker, '--data', dataDir])).code).toBe(0);
    const result = await runCli(['cluster', 'status', '--json', '--broker', broker, '--data', dataDir]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ClusterStatusReport;
    expect(report.mode).toBe('single');
    expect(report.streams).toBeUndefined();
    expect(report.servers).toBeUndefined();
    expect(report.gateways).toHaveLength(1);
    const [self] = report.gateways;
    expect(self).toMatchObject({ id: report.answeredBy, pid: proc?.child.pid, host: hostname(), version: VERSION, mode: 'single' });
    expect(self?.load.rssBytes).toBeGreaterThan(10_000_000);
    // The instance the call started is still alive (reaped only after its idle timeout).
    await expect.poll(async () => ((JSON.parse((await runCli(['cluster', 'status', '--json', '--broker', broker, '--data', dataDir])).stdout) as ClusterStatusReport).gateways[0]?.load.instances), { timeout: 10_000 }).toBe(1);

    const table = await runCli(['cluster', 'status', '--broker', broker, '--data', dataDir]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^mode: single, answered by /);
    expect(table.stdout).toContain(`*${report.answeredBy}`);
    expect(table.stdout).toMatch(/1 gateway\(s\)/);

    const token = (await readFile(join(dataDir, 'metrics.token'), 'utf8')).trim();
    const response = await fetch(`${metricsBase}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const families = parsePrometheusTextFormat(await response.text());
    const info = families.find((family) => family.name === 'edgefc_gateway_info');
    expect(info?.type).toBe('GAUGE');
    expect(info?.metrics).toEqual([{ labels: { gateway_id: report.answeredBy, host: hostname(), mode: 'single', version: VERSION }, value: '1' }]);
    const started = Number(families.find((family) => family.name === 'edgefc_gateway_start_time_seconds')?.metrics[0]?.value);
    expect(Math.abs(started * 1000 - (Date.now() - (self?.uptimeMs ?? 0)))).toBeLessThan(60_000);
  }, 60_000);
});
