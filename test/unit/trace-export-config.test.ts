/**
 * Where spans go (gateway/tracing/trace-export-config.ts): the flag, then the standard OTEL_*
 * variables; headers from the environment or a private file; bad input is InvalidArgument,
 * never quoting a header's value.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHeaders, redact, resolveTraceExport } from '../../gateway/tracing/trace-export-config.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

describe('resolveTraceExport', () => {
  it('exports nothing without an endpoint, or with OTEL_SDK_DISABLED=true', async () => {
    expect(await resolveTraceExport({}, {})).toBeUndefined();
    expect(await resolveTraceExport({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });

  it('a base endpoint gets /v1/traces; a traces endpoint is used as it is; the flag wins', async () => {
    expect((await resolveTraceExport({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }))?.url).toBe('http://c:4318/v1/traces');
    expect((await resolveTraceExport({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://t/x' }))?.url).toBe('https://t/x');
    expect((await resolveTraceExport({ endpoint: 'http://flag:4318' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318' }))?.url).toBe('http://flag:4318/v1/traces');
    expect((await resolveTraceExport({ endpoint: 'http://flag:4318/v1/traces' }, {}))?.url).toBe('http://flag:4318/v1/traces');
  });

  it('service name, batch settings and headers from the environment', async () => {
    const config = await resolveTraceExport({}, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic%20abc, x-a = 1',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-a=2',
      OTEL_SERVICE_NAME: 'box-1',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
    });
    expect(config).toMatchObject({ serviceName: 'box-1', maxQueueSize: 100, headers: { authorization: 'Basic abc', 'x-a': '2' } });
    expect((await resolveTraceExport({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }))?.serviceName).toBe('edgefc');
  });

  it('refuses what cannot work, as InvalidArgument, without quoting secrets', async () => {
    await expect(resolveTraceExport({ endpoint: 'grpc://c:4317' }, {})).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(resolveTraceExport({ endpoint: 'not a url' }, {})).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(resolveTraceExport({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_BSP_MAX_QUEUE_SIZE: '0' })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(resolveTraceExport({ headersFile: '/nope' }, {})).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('needs an OTLP endpoint') });
    const error = (() => {
      try {
        parseHeaders('novalue-secret-xyz', 'X');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error).toMatchObject({ code: 'InvalidArgument' });
    expect(error?.message).not.toContain('secret-xyz');
    expect(() => parseHeaders('a=b%0Ac', 'X')).toThrow(/line break/);
  });

  it('reads a private headers file; a missing one is an error', async () => {
    const dir = await traversableTempDir('edgefc-otlp-headers-');
    const file = join(dir, 'headers');
    await writeFile(file, 'x-key=v1\n# comment\n\nx-other=v2\n', { mode: 0o600 });
    expect((await resolveTraceExport({ endpoint: 'http://c:4318', headersFile: file }, {}))?.headers).toEqual({ 'x-key': 'v1', 'x-other': 'v2' });
    await expect(resolveTraceExport({ endpoint: 'http://c:4318', headersFile: join(dir, 'missing') }, {})).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('redacts user, password and query from an endpoint it shows', () => {
    expect(redact('https://u:p@collector:4318/v1/traces?token=t')).toBe('https://collector:4318/v1/traces');
  });
});
