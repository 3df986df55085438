/**
 * `edgefc describe S/F`: one function as the running gateway serves it (docs/protocol.md §9.9):
 * its spec, environment variable names (never values), triggers, invokers, Async settings,
 * instances and handler-time percentiles.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../usage-error.js';
import { callGateway, connectionOptions, type Output } from './common.js';
import { CONNECTION_USAGE } from '../connection.js';

export const DESCRIBE_USAGE = `Usage: edgefc describe SERVICE/FUNCTION [options]

Show one function of the running gateway: every spec field, its environment variables' names
(never their values), triggers, invokers, Async settings, instances and recent latency
percentiles (handler time since the gateway started).

${CONNECTION_USAGE}
`;

interface Description {
  function: Record<string, unknown>;
  triggers: unknown[];
  invokers: string[];
  asyncConfiguration: Record<string, unknown>;
  instances: Record<string, number> | null;
  latency: { count: number; p50?: number; p90?: number; p99?: number } | null;
  service: { name: string };
}

const ms = (seconds: number | undefined): string => (seconds === undefined ? '-' : `≤${(seconds * 1000).toFixed(1)} ms`);

export function renderDescription(d: Description): string {
  const lines: string[] = [`${d.service.name}/${String(d.function['name'])}`];
  for (const [key, value] of Object.entries(d.function)) {
    if (key === 'name') continue;
    lines.push(`  ${key}: ${Array.isArray(value) ? value.join(', ') || '-' : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`);
  }
  lines.push(`  triggers: ${d.triggers.length === 0 ? '-' : JSON.stringify(d.triggers)}`);
  lines.push(`  invokers: ${d.invokers.join(', ')}`);
  lines.push(`  async: ${JSON.stringify(d.asyncConfiguration)}`);
  lines.push(`  instances: ${d.instances === null ? '-' : Object.entries(d.instances).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const l = d.latency;
  lines.push(`  latency: ${l === null ? 'metrics off' : `${l.count} call(s); p50 ${ms(l.p50)}, p90 ${ms(l.p90)}, p99 ${ms(l.p99)}`}`);
  return `${lines.join('\n')}\n`;
}

export async function runDescribe(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: connectionOptions });
  if (values.help) {
    output.out(DESCRIBE_USAGE);
    return 0;
  }
  const [target, ...rest] = positionals;
  if (target === undefined || rest.length > 0 || target.split('/').length !== 2) throw new UsageError('give one function as SERVICE/FUNCTION');
  return callGateway(values, output, {
    operation: 'describe',
    args: { function: target },
    defaultTimeoutMs: 5000,
    print: (result) => output.out(renderDescription(result as Description)),
  });
}
