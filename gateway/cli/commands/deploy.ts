/**
 * `edgefc deploy [--template F]`: make the running gateway serve a template again, or a new one
 * (docs/protocol.md §9.7), without a restart. New calls go to the new functions; calls in
 * flight finish on the old instances. A bad template is refused with its file/field errors and
 * the old one keeps serving. `kill -HUP <gateway pid>` does the same with the current file.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DeployResult } from '../../registry/deployer.js';
import { UsageError } from '../usage-error.js';
import { callGateway, connectionOptions, type Output } from './common.js';
import { CONNECTION_USAGE } from '../connection.js';

export const DEPLOY_USAGE = `Usage: edgefc deploy [--template F] [options]

Redeploy: the running gateway loads the template again (or F) and switches new calls to it;
calls in flight finish on the old instances, which then stop. A bad template is refused with
its errors and the old one keeps serving.

Options:
  --template F        template file on the gateway's machine (default: the one it serves, re-read)
  --timeout MS        how long to wait for the answer (default 10000)
  --json              print the result as one JSON object

Only operators may deploy, and only templates inside the directories the gateway trusts
(edgefc start --trusted-templates).

${CONNECTION_USAGE}
`;

export async function runDeploy(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...connectionOptions, template: { type: 'string' } },
  });
  if (values.help) {
    output.out(DEPLOY_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  // Absolute: the gateway resolves paths against its own working directory, not ours.
  const args = values.template === undefined ? {} : { template: resolve(values.template) };
  return callGateway(values, output, {
    operation: 'deploy',
    args,
    defaultTimeoutMs: 10_000,
    print: (answer) => {
      const result = answer as DeployResult;
      output.out(`deployed ${result.template}: ${result.functions} function(s); ${result.retired} previous pool(s) finishing their calls\n`);
      if (result.triggersChanged) output.out('trigger topics changed: the gateway now takes the new ones\n');
    },
  });
}
