/**
 * `edgefc deploy --template F`: pack F and its functions' code on this machine, upload the bundle
 * to the running gateway in chunks and switch to it (docs/protocol.md §9.9). `edgefc deploy
 * --rollback [ID]` serves an earlier deployment again (§9.10). `edgefc deploy` alone, or with
 * `--on-gateway F`, makes the gateway read a template on its own machine (§9.7), as SIGHUP does.
 * New calls go to the new functions; calls in flight finish on the old instances. A bad template
 * or bundle is refused with its errors and the old deployment keeps serving.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DeploymentResult } from '../../deployments/deployments.js';
import { DEFAULT_MAX_BUNDLE_BYTES, packTemplate } from '../../deployments/pack-bundle.js';
import { AdminClient } from '../admin-client.js';
import { UsageError } from '../usage-error.js';
import { printImportMessages } from './import.js';
import { callGateway, connectionOptions, connectionOrFailure, parseTimeoutMs, printFailure, type Output } from './common.js';
import { CONNECTION_USAGE } from '../connection.js';

export const DEPLOY_USAGE = `Usage: edgefc deploy --template F [--function S/F] [options]
       edgefc deploy --rollback [ID] [options]
       edgefc deploy [--on-gateway F] [options]

Deploy: pack the template F (an edgefc template, a Serverless Devs s.yaml or a Funcraft template.yml) and each function's code directory on this machine (files named in
.edgefcignore beside F left out; node_modules is packed unless named there), upload the bundle
to the running gateway and switch new calls to it; calls in flight finish on the old instances.
Every deployment is kept in the gateway's data directory ("edgefc deployments list") and a
restart serves the last one. A bad template is refused with its errors as file:line:col and
the old deployment keeps serving.

Options:
  --template F        the template to pack and upload (code directories must be inside F's directory)
  --function S/F      replace only that function (its spec and code, from F); every other
                      function stays as the current deployment serves it
  --rollback [ID]     serve deployment ID again (default: the one before the current)
  --on-gateway F      a template on the gateway's machine, inside the directories of edgefc start --trusted-templates;
                      without --template, --rollback or --on-gateway: the one it serves, re-read
  --max-bundle-bytes N   refuse to upload a bundle larger than N (default 67108864, 64 MiB)
  --timeout MS        how long to wait for each answer (default 60000)
  --json              print the result as one JSON object (no progress lines)

Only operators may deploy. Upload progress is shown on stderr.

${CONNECTION_USAGE}
`;

/** What the parser accepts; also the command table's flags (command-table.ts: help, completion). */
export const DEPLOY_OPTIONS = {
    ...connectionOptions,
    template: { type: 'string' },
    rollback: { type: 'boolean', default: false },
    'on-gateway': { type: 'string' },
    function: { type: 'string' },
    'max-bundle-bytes': { type: 'string' },
} as const;

export async function runDeploy(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: DEPLOY_OPTIONS,
  });
  if (values.help) {
    output.out(DEPLOY_USAGE);
    return 0;
  }
  const modes = [values.template !== undefined, values.rollback, values['on-gateway'] !== undefined].filter(Boolean).length;
  if (modes > 1) throw new UsageError('--template, --rollback and --on-gateway go one at a time');
  if (values.function !== undefined && (values.template === undefined || values.function.split('/').length !== 2)) {
    throw new UsageError('--function S/F goes with --template F');
  }
  if (positionals.length > (values.rollback ? 1 : 0)) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const print = (answer: unknown): void => printResult(output, answer as DeploymentResult);
  if (values.rollback) {
    const id = positionals[0];
    return callGateway(values, output, { operation: 'deploy-rollback', args: id === undefined ? {} : { deployment: id }, defaultTimeoutMs: 60_000, print });
  }
  if (values.template === undefined) {
    // Absolute: the gateway resolves paths against its own working directory, not ours.
    const onGateway = values['on-gateway'];
    return callGateway(values, output, { operation: 'deploy', args: onGateway === undefined ? {} : { template: resolve(onGateway) }, defaultTimeoutMs: 60_000, print });
  }
  const maxBytes = values['max-bundle-bytes'] === undefined ? DEFAULT_MAX_BUNDLE_BYTES : Number(values['max-bundle-bytes']);
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new UsageError('--max-bundle-bytes must be a whole number of bytes');
  const timeoutMs = parseTimeoutMs(values.timeout, 60_000);
  const connection = await connectionOrFailure(values, output, values.json);
  if (connection === undefined) return 1;
  let packed;
  try {
    const template = values.template;
    // s.yaml / Funcraft: what the conversion left out, at its place in the file (stderr; not with --json).
    packed = await packTemplate(template, { maxBytes, onImportMessage: (m) => values.json || printImportMessages(output, template, [m]) });
    if (values.function !== undefined && !packed.functions.includes(values.function)) {
      throw new UsageError(`${values.function} is not in ${values.template} (${packed.functions.join(', ')})`);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    printFailure(output, error, values.json);
    return 1;
  }
  if (!values.json) output.err(`packed ${values.template}: ${packed.files} file(s), ${packed.bytes.length} bytes, ${packed.functions.length} function(s), sha256 ${packed.sha256.slice(0, 16)}…\n`);
  const client = new AdminClient({ ...connection, timeoutMs });
  let uploadId: string | undefined;
  try {
    const begun = (await client.call('deploy-begin', { size: packed.bytes.length, sha256: packed.sha256 })) as { uploadId: string; maxChunkBytes: number };
    uploadId = begun.uploadId;
    const started = Date.now();
    let shownTenth = 0;
    for (let offset = 0; offset < packed.bytes.length; offset += begun.maxChunkBytes) {
      const chunk = packed.bytes.subarray(offset, offset + begun.maxChunkBytes);
      await client.call('deploy-chunk', { uploadId, offset, sha256: createHash('sha256').update(chunk).digest('hex'), data: chunk.toString('base64') });
      const sent = offset + chunk.length;
      const tenth = Math.floor((sent * 10) / packed.bytes.length);
      if (!values.json && tenth > shownTenth) {
        shownTenth = tenth;
        output.err(`upload: ${tenth * 10}% (${sent} of ${packed.bytes.length} bytes, ${Date.now() - started} ms)\n`);
      }
    }
    const result = await client.call('deploy-commit', { uploadId, ...(values.function === undefined ? {} : { function: values.function }) });
    uploadId = undefined;
    if (values.json) output.out(`${JSON.stringify(result)}\n`);
    else printResult(output, result as DeploymentResult, values.template + (values.function === undefined ? '' : ` (${values.function} only)`));
    return 0;
  } catch (error) {
    printFailure(output, error, values.json);
    if (uploadId !== undefined) await client.call('deploy-abort', { uploadId }).catch(() => undefined);
    return 1;
  } finally {
    await client.close();
  }
}

/** `shown`: what the operator named (an upload), else the template the gateway serves. */
function printResult(output: Output, result: DeploymentResult, shown = result.template): void {
  const id = result.deployment === undefined ? '' : ` as deployment ${result.deployment}`;
  output.out(`deployed ${shown}${id}: ${result.functions} function(s); ${result.retired} previous pool(s) finishing their calls\n`);
  if (result.triggersChanged) output.out('trigger topics changed: the gateway now takes the new ones\n');
}
