/**
 * `edgefc list` and `edgefc stats`: ask the running gateway (docs/protocol.md §9).
 */
import { parseArgs } from 'node:util';
import type { ListedService } from '../../dispatch/handle-admin.js';
import type { FunctionStats } from '../../function-host.js';
import { renderTable } from '../table.js';
import { UsageError } from '../usage-error.js';
import { callGateway, connectionOptions, type Output } from './common.js';
import { CONNECTION_USAGE } from '../connection.js';

const usage = (command: string, what: string): string => `Usage: edgefc ${command} [options]

${what}

${CONNECTION_USAGE}
`;

const LIST_WHAT = 'List the services and functions the gateway serves.';
const STATS_WHAT = 'Show per-function counters of the running gateway.';
export const LIST_USAGE = usage('list', LIST_WHAT);
export const STATS_USAGE = usage('stats', STATS_WHAT);

async function askGateway(argv: string[], output: Output, command: string, what: string, render: (result: unknown) => string): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: connectionOptions });
  if (values.help) {
    output.out(usage(command, what));
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  return callGateway(values, output, { operation: command, defaultTimeoutMs: 5000, print: (result) => output.out(render(result)) });
}

export function runList(argv: string[], output: Output): Promise<number> {
  return askGateway(argv, output, 'list', LIST_WHAT, (result) => {
    const { services } = result as { services: ListedService[] };
    const rows = services.flatMap((service) =>
      service.functions.map((fn) => [
        service.name,
        fn.name,
        fn.runtime,
        fn.handler,
        fn.memorySize,
        fn.timeout,
        fn.instanceConcurrency,
        fn.maxInstances,
        fn.minInstances,
        fn.instances,
        fn.idle,
        fn.isolation,
      ]),
    );
    // The instance columns beside MAX_INSTANCES; ISOLATION stays last (scripts read it as the last field).
    const table = renderTable(
      ['SERVICE', 'FUNCTION', 'RUNTIME', 'HANDLER', 'MEMORY_MB', 'TIMEOUT_S', 'CONCURRENCY', 'MAX_INSTANCES', 'PROVISIONED', 'INSTANCES', 'IDLE', 'ISOLATION'],
      rows,
    );
    return `${table}${services.length} service(s), ${rows.length} function(s)\n`;
  });
}

export function runStats(argv: string[], output: Output): Promise<number> {
  return askGateway(argv, output, 'stats', STATS_WHAT, (result) => {
    const { functions, uptimeMs, memory } = result as { functions: FunctionStats[]; uptimeMs: number; memory?: { budgetMB: number; usedMB: number } };
    const rows = functions.map((s) => [s.service, s.function, s.queued, s.running, s.instances, s.completed, s.failed, s.throttled, s.provisioned, s.idle]);
    // New columns last: scripts reading COMPLETED etc. by position keep working.
    const table = renderTable(['SERVICE', 'FUNCTION', 'QUEUED', 'RUNNING', 'INSTANCES', 'COMPLETED', 'FAILED', 'THROTTLED', 'PROVISIONED', 'IDLE'], rows);
    const budget = memory === undefined ? '' : `, memory budget ${memory.usedMB} of ${memory.budgetMB} MB claimed`;
    return `${table}uptime ${(uptimeMs / 1000).toFixed(0)} s${budget}\n`;
  });
}
