/**
 * The one place the OpenTelemetry SDK is loaded, by dynamic import, and only when an OTLP
 * endpoint is configured (trace-export-config.ts): a gateway without one never reads the SDK's
 * modules (~250 files) and its call path has no tracer to test but `undefined`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { PACKAGE_ROOT } from '../package-root.js';
import type { CallTracer } from './call-tracer.js';
import { redact, type TraceExportConfig } from './trace-export-config.js';

export async function loadCallTracer(config: TraceExportConfig, logger: Logger): Promise<CallTracer> {
  const [{ OtelCallTracer }, manifest] = await Promise.all([import('./otel-call-tracer.js'), readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')]);
  const { version } = JSON.parse(manifest) as { version: string };
  const tracer = new OtelCallTracer({ config, logger, version });
  // The endpoint without user:password or query, and never the headers (docs/security.md §10).
  logger.info('exporting spans (OTLP/HTTP)', { endpoint: redact(config.url), serviceName: config.serviceName, headers: Object.keys(config.headers).length });
  return tracer;
}
