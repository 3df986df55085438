/**
 * `edgefc deployments list` (docs/protocol.md §9.10) and `edgefc remove S/F` (§9.11).
 */
import { parseArgs } from 'node:util';
import type { DeploymentResult, DeploymentView } from '../../deployments/deployments.js';
import { renderTable } from '../table.js';
import { UsageError } from '../usage-error.js';
import { callGateway, connectionOptions, type Output } from './common.js';
import { CONNECTION_USAGE } from '../connection.js';

export const DEPLOYMENTS_USAGE = `Usage: edgefc deployments list [options]

The deployments the running gateway keeps in its data directory, oldest first; * marks the one
it serves. "edgefc deploy --rollback ID" serves one again.

Options:
  --timeout MS        how long to wait for the answer (default 10000)
  --json              print {"deployments": [...]} as one JSON object

${CONNECTION_USAGE}
`;

export const REMOVE_USAGE = `Usage: edgefc remove S/F [options]

Stop serving one function, as a new deployment: new calls get FunctionNotFound naming it, calls
in flight finish. "edgefc deploy --rollback" brings the function back.

Options:
  --timeout MS        how long to wait for the answer (default 60000)
  --json              print the result as one JSON object

${CONNECTION_USAGE}
`;

export async function runDeployments(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: connectionOptions });
  if (values.help) {
    output.out(DEPLOYMENTS_USAGE);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'list') throw new UsageError('edgefc deployments list [options]');
  return callGateway(values, output, {
    operation: 'deployments-list',
    defaultTimeoutMs: 10_000,
    print: (answer) => {
      const { deployments } = answer as { deployments: DeploymentView[] };
      if (deployments.length === 0) {
        output.out('no deployments yet: edgefc deploy --template F\n');
        return;
      }
      const rows = deployments.map((d) => [
        `${d.current ? '*' : ' '}${d.id}`,
        d.createdAt,
        d.principal,
        d.source + (d.only === undefined ? '' : ` ${d.only} on ${d.base ?? '?'}`) + (d.from === undefined ? '' : ` of ${d.from}`),
        d.functions.length,
        d.bytes,
        d.sha256.slice(0, 12),
        d.template,
      ]);
      output.out(renderTable(['ID', 'CREATED', 'BY', 'SOURCE', 'FUNCTIONS', 'BYTES', 'SHA256', 'TEMPLATE'], rows));
    },
  });
}

export async function runRemove(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: connectionOptions });
  if (values.help) {
    output.out(REMOVE_USAGE);
    return 0;
  }
  const name = positionals[0];
  if (positionals.length !== 1 || name === undefined || name.split('/').length !== 2) throw new UsageError('edgefc remove SERVICE/FUNCTION [options]');
  return callGateway(values, output, {
    operation: 'remove',
    args: { function: name },
    defaultTimeoutMs: 60_000,
    print: (answer) => {
      const result = answer as DeploymentResult;
      output.out(`removed ${name} as deployment ${result.deployment ?? '?'}: ${result.functions} function(s) served; ${result.retired} previous pool(s) finishing their calls\n`);
    },
  });
}
