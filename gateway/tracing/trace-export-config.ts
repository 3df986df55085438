/**
 * Where the gateway's spans go (docs/operations.md §4): an OTLP/HTTP endpoint from
 * `edgefc start --otlp-endpoint URL` or the standard OpenTelemetry environment variables, and
 * the headers a collector may want (often a secret: an API key). Headers come from the
 * environment or a private file, never from argv, and are never logged (docs/security.md §10).
 *
 * Nothing here imports OpenTelemetry: without an endpoint the SDK is never loaded
 * (load-call-tracer.ts).
 */
import { InvalidArgumentError } from 'edgefc/errors';
import { readPrivateFile } from '../security/private-file.js';

export interface TraceExportConfig {
  /** Full URL spans are POSTed to, e.g. `http://127.0.0.1:4318/v1/traces`. */
  url: string;
  /** HTTP headers sent with every export (from the headers file or the environment). */
  headers: Record<string, string>;
  /** The resource's `service.name`. @default 'edgefc' (or OTEL_SERVICE_NAME) */
  serviceName: string;
  /**
   * Finished spans waiting for export, past which new ones are dropped and counted
   * (`edgefc_trace_spans_dropped_total{reason="queue_full"}`): a collector that is down never
   * holds memory or a call. @default 2048 (the SDK's default)
   */
  maxQueueSize?: number;
  /** How long one export may take before it is given up (and its spans counted as failed). @default 10_000 */
  exportTimeoutMs?: number;
  /** How long spans wait to be batched. @default 5000 (the SDK's default) */
  scheduledDelayMs?: number;
  /**
   * How long a stop waits for the last spans to be exported: a collector that is down delays a
   * stop this much at most (systemd gives the whole stop 30 s). @default 5000
   */
  shutdownTimeoutMs?: number;
}

const TRACES_PATH = '/v1/traces';

export interface TraceExportSources {
  /** `--otlp-endpoint URL`: a base URL (`/v1/traces` is appended) or the full traces URL. */
  endpoint?: string | undefined;
  /** `--otlp-headers-file F`: `name=value` pairs, one per line or comma-separated, mode 0600. */
  headersFile?: string | undefined;
}

/**
 * The export configuration, or undefined when no endpoint is configured (then nothing is
 * exported and no OpenTelemetry module is loaded). Precedence as the OpenTelemetry spec has it:
 * the flag, then OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is), then
 * OTEL_EXPORTER_OTLP_ENDPOINT (a base URL). OTEL_SDK_DISABLED=true turns export off.
 */
export async function resolveTraceExport(sources: TraceExportSources, env: NodeJS.ProcessEnv = process.env): Promise<TraceExportConfig | undefined> {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return undefined;
  const url = tracesUrl(sources.endpoint, env);
  if (url === undefined) {
    if (sources.headersFile !== undefined) throw new InvalidArgumentError('--otlp-headers-file needs an OTLP endpoint (--otlp-endpoint URL or OTEL_EXPORTER_OTLP_ENDPOINT)');
    return undefined;
  }
  const headers = {
    ...parseHeaders(env['OTEL_EXPORTER_OTLP_HEADERS'] ?? '', 'OTEL_EXPORTER_OTLP_HEADERS'),
    ...parseHeaders(env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'] ?? '', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
    ...(sources.headersFile === undefined ? {} : await readHeadersFile(sources.headersFile)),
  };
  const serviceName = env['OTEL_SERVICE_NAME']?.trim() || 'edgefc';
  // The batch span processor's standard variables (OpenTelemetry SDK configuration).
  const maxQueueSize = positiveInteger(env, 'OTEL_BSP_MAX_QUEUE_SIZE');
  const scheduledDelayMs = positiveInteger(env, 'OTEL_BSP_SCHEDULE_DELAY');
  const exportTimeoutMs = positiveInteger(env, 'OTEL_BSP_EXPORT_TIMEOUT');
  return {
    url,
    headers,
    serviceName,
    ...(maxQueueSize === undefined ? {} : { maxQueueSize }),
    ...(scheduledDelayMs === undefined ? {} : { scheduledDelayMs }),
    ...(exportTimeoutMs === undefined ? {} : { exportTimeoutMs }),
  };
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a whole number above 0 (got "${text.slice(0, 40)}")`);
  return value;
}

function tracesUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) return checkedUrl(flag, '--otlp-endpoint', !new URL(flag, 'http://x').pathname.endsWith(TRACES_PATH));
  const traces = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  if (traces) return checkedUrl(traces, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', false);
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  if (base) return checkedUrl(base, 'OTEL_EXPORTER_OTLP_ENDPOINT', true);
  return undefined;
}

function checkedUrl(value: string, from: string, appendTracesPath: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`${from} must be an http:// or https:// URL (got "${redact(value)}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`${from} must be an http:// or https:// URL: spans are sent as OTLP/HTTP (got ${url.protocol})`);
  }
  if (appendTracesPath) url.pathname = `${url.pathname.replace(/\/+$/, '')}${TRACES_PATH}`;
  return url.toString();
}

/** A URL as it may be shown: no user:password, no query (either may hold a token). */
export function redact(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * W3C Baggage-style `name=value` pairs, comma-separated or one per line (the OTLP exporter
 * spec's format for OTEL_EXPORTER_OTLP_HEADERS); values may be percent-encoded. A malformed
 * pair is an error naming where it came from, never quoting the value.
 */
export function parseHeaders(text: string, from: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const raw of text.split(/[,\n]/)) {
    const pair = raw.trim();
    if (pair === '' || pair.startsWith('#')) continue;
    const equals = pair.indexOf('=');
    const name = equals <= 0 ? '' : pair.slice(0, equals).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new InvalidArgumentError(`${from}: every entry must be NAME=VALUE with an HTTP header name`);
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(equals + 1).trim());
    } catch {
      throw new InvalidArgumentError(`${from}: the value of ${name} is not valid percent-encoding`);
    }
    if (/[\r\n\0]/.test(value)) throw new InvalidArgumentError(`${from}: the value of ${name} holds a line break or NUL`);
    headers[name.toLowerCase()] = value;
  }
  return headers;
}

async function readHeadersFile(path: string): Promise<Record<string, string>> {
  const text = await readPrivateFile(path, (message) => new InvalidArgumentError(`--otlp-headers-file: ${message}`));
  if (text === undefined) throw new InvalidArgumentError(`--otlp-headers-file: ${path} does not exist`);
  return parseHeaders(text, path);
}
