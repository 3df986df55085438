/**
 * `edgefc start --otlp-endpoint URL --otlp-headers-file F` as a real process, with the standard
 * OTEL_* variables: the spans of the last calls reach the collector at SIGTERM (the batch delay
 * is 10 minutes here, so only the stop's flush can send them), with the file's headers, which
 * never appear in the output. A headers file others can read is refused.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { startOtlpCollector, type OtlpCollector } from '../fixtures/otlp-collector.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

const HELLO = fileURLToPath(new URL('../../functions/helloworld', import.meta.url));
const SECRET = 'file-secret-0c7d';

/** Start the CLI with these variables in its environment (and not in its argv). */
function startWithEnv(args: string[], vars: Record<string, string>): CliProcess {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    return startCliProcess(args);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('edgefc start exporting spans (real process)', () => {
  let collector: OtlpCollector;
  let dir: string;
  let template: string;

  beforeAll(async () => {
    collector = await startOtlpCollector();
    dir = await traversableTempDir('edgefc-otlp-cli-');
    template = join(dir, 'template.yml');
    await writeFile(template, ['edgefc: 1', 'services:', '  M:', '    functions:', '      hello:', '        runtime: nodejs20', '        handler: index.handler', `        codeUri: ${HELLO}`, ''].join('\n'));
  });

  afterAll(async () => {
    await collector?.close();
  });

  it('flushes the last spans at SIGTERM, with the headers file\'s headers and OTEL_SERVICE_NAME', async () => {
    const headers = join(dir, 'otlp.headers');
    await writeFile(headers, `# the collector's API key\nauthorization=Bearer%20${SECRET}\nx-tenant=edge-1\n`, { mode: 0o600 });
    const dataDir = join(dir, 'data');
    const port = await freeLoopbackPort();
    const proc = startWithEnv(
      ['start', '--port', String(port), '--template', template, '--data', dataDir, '--metrics', 'off', '--otlp-endpoint', collector.url, '--otlp-headers-file', headers],
      { OTEL_SERVICE_NAME: 'edge-box-7', OTEL_BSP_SCHEDULE_DELAY: '600000' },
    );
    try {
      await proc.waitForOutput(/gateway ready on/, 60_000);
      const invoked = await runCli(['invoke', 'M/hello', '--data', dataDir, '--payload', 'hi', '--json']);
      expect(invoked.code, invoked.stderr).toBe(0);
      const { requestId } = JSON.parse(invoked.stdout) as { requestId: string };
      expect(collector.spans).toHaveLength(0);
      expect(await stopProcess(proc)).toBe(0);
      const span = collector.spans.find((s) => s.attributes['faas.invocation_id'] === requestId);
      expect(span).toMatchObject({ name: 'M/hello', resource: { 'service.name': 'edge-box-7' } });
      expect(collector.requests.at(-1)).toMatchObject({ authorization: `Bearer ${SECRET}`, 'x-tenant': 'edge-1' });
      expect(proc.output()).toContain('exporting spans');
      expect(proc.output()).not.toContain(SECRET);
    } finally {
      await stopProcess(proc);
    }
  }, 90_000);

  it('refuses a headers file other users can read', async () => {
    const loose = join(dir, 'loose.headers');
    await writeFile(loose, `authorization=${SECRET}\n`);
    await chmod(loose, 0o644);
    const result = await runCli(['start', '--port', '0', '--template', template, '--data', join(dir, 'data-loose'), '--metrics', 'off', '--otlp-endpoint', collector.url, '--otlp-headers-file', loose]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('chmod 600');
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});
