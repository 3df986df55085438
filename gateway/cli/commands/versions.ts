/**
 * `edgefc versions publish|list|delete S` (docs/protocol.md §9.14) and
 * `edgefc aliases create|update|delete|list S` (§9.15): a service's published versions and the
 * aliases that name them, on the running gateway. Operators only, audited.
 */
import { parseArgs } from 'node:util';
import type { AliasRecord, VersionRecord } from '../../versions/version-store.js';
import { renderTable } from '../table.js';
import { UsageError } from '../usage-error.js';
import { callGateway, connectionOptions, type Output } from './common.js';
import { CONNECTION_USAGE } from '../connection.js';

export const VERSIONS_USAGE = `Usage: edgefc versions <publish|list|delete> SERVICE [options]

A service's published versions (docs/protocol.md §9.14). Publishing freezes the service's
functions, code and configuration, as the gateway serves them now; versions are numbered 1, 2, …
and never change. Call one with "edgefc invoke --qualifier N S/F"; LATEST is what is served now.

  edgefc versions publish S [--description TEXT]   publish the service as it is served now
  edgefc versions list S                           its versions, newest first
  edgefc versions delete S VERSION                 refused while an alias points at it

Options:
  --description TEXT  publish: what this version is (at most 256 characters)
  --timeout MS        how long to wait for the answer (default 60000)
  --json              print the gateway's JSON answer

${CONNECTION_USAGE}
`;

export const ALIASES_USAGE = `Usage: edgefc aliases <create|update|delete|list> SERVICE [ALIAS] [options]

Aliases name a version of a service (docs/protocol.md §9.15), optionally sending a share of the
calls to a second version (canary: FC's additionalVersionWeight). Call through one with
"edgefc invoke --qualifier ALIAS S/F".

  edgefc aliases create S ALIAS --version N [--weight V=W] [--description TEXT]
  edgefc aliases update S ALIAS [--version N] [--weight V=W | --no-weight] [--description TEXT]
  edgefc aliases delete S ALIAS
  edgefc aliases list S

Options:
  --version N         the version the alias names
  --weight V=W        send the share W (0 to 1) of the calls to version V instead, e.g. 2=0.1
  --no-weight         update: send every call to --version again
  --description TEXT  what the alias is for (at most 256 characters)
  --timeout MS        how long to wait for the answer (default 60000)
  --json              print the gateway's JSON answer

${CONNECTION_USAGE}
`;

/** What the parsers accept; also the command table's flags (command-table.ts: help, completion). */
export const VERSIONS_OPTIONS = {
  ...connectionOptions,
  description: { type: 'string' },
} as const;

export const ALIASES_OPTIONS = {
  ...connectionOptions,
  version: { type: 'string' },
  weight: { type: 'string' },
  'no-weight': { type: 'boolean', default: false },
  description: { type: 'string' },
} as const;

const TIMEOUT_MS = 60_000;

export async function runVersions(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: VERSIONS_OPTIONS });
  if (values.help) {
    output.out(VERSIONS_USAGE);
    return 0;
  }
  const [action, service, ...rest] = positionals;
  if (service === undefined) throw new UsageError('edgefc versions <publish|list|delete> SERVICE');
  if (action === 'publish' || action === 'list') {
    if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
    if (action === 'list' && values.description !== undefined) throw new UsageError('--description is for publish');
    return callGateway(values, output, {
      operation: `versions-${action}`,
      args: action === 'publish' ? { service, description: values.description ?? '' } : { service },
      defaultTimeoutMs: TIMEOUT_MS,
      print: (answer) => {
        if (action === 'publish') {
          const { version } = answer as { version: VersionRecord };
          output.out(`published version ${version.versionId} of ${service} (${version.functions.length} function(s), deployment ${version.deployment})\n`);
          return;
        }
        const { versions } = answer as { versions: VersionRecord[] };
        if (versions.length === 0) {
          output.out(`no versions of ${service} yet: edgefc versions publish ${service}\n`);
          return;
        }
        output.out(renderTable(['VERSION', 'CREATED', 'BY', 'DEPLOYMENT', 'FUNCTIONS', 'DESCRIPTION'], versions.map((v) => [v.versionId, v.createdAt, v.principal, v.deployment, v.functions.join(' '), v.description])));
      },
    });
  }
  if (action === 'delete') {
    const [versionId, ...more] = rest;
    if (versionId === undefined || more.length > 0) throw new UsageError('edgefc versions delete SERVICE VERSION');
    return callGateway(values, output, {
      operation: 'versions-delete',
      args: { service, versionId },
      defaultTimeoutMs: TIMEOUT_MS,
      print: () => output.out(`deleted version ${versionId} of ${service}\n`),
    });
  }
  throw new UsageError('say publish, list or delete');
}

export async function runAliases(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: ALIASES_OPTIONS });
  if (values.help) {
    output.out(ALIASES_USAGE);
    return 0;
  }
  const [action, service, aliasName, ...rest] = positionals;
  if (service === undefined) throw new UsageError('edgefc aliases <create|update|delete|list> SERVICE [ALIAS]');
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  if (action === 'list') {
    if (aliasName !== undefined) throw new UsageError(`unexpected arguments: ${aliasName}`);
    return callGateway(values, output, {
      operation: 'aliases-list',
      args: { service },
      defaultTimeoutMs: TIMEOUT_MS,
      print: (answer) => {
        const { aliases } = answer as { aliases: AliasRecord[] };
        if (aliases.length === 0) {
          output.out(`no aliases in ${service} yet: edgefc aliases create ${service} ALIAS --version N\n`);
          return;
        }
        output.out(renderTable(['ALIAS', 'VERSION', 'WEIGHTS', 'UPDATED', 'DESCRIPTION'], aliases.map((a) => [a.aliasName, a.versionId, formatWeights(a), a.updatedAt, a.description])));
      },
    });
  }
  if (action !== 'create' && action !== 'update' && action !== 'delete') throw new UsageError('say create, update, delete or list');
  if (aliasName === undefined) throw new UsageError(`edgefc aliases ${action} SERVICE ALIAS`);
  const args: Record<string, unknown> = { service, aliasName };
  if (action === 'delete') {
    if (values.version !== undefined || values.weight !== undefined || values.description !== undefined || values['no-weight']) throw new UsageError('delete takes no flags but the connection ones');
  } else {
    if (action === 'create' && values.version === undefined) throw new UsageError('create needs --version N');
    if (values.version !== undefined) args['versionId'] = values.version;
    if (values.description !== undefined) args['description'] = values.description;
    if (values.weight !== undefined && values['no-weight']) throw new UsageError('--weight and --no-weight contradict each other');
    if (values.weight !== undefined) args['additionalVersionWeight'] = parseWeight(values.weight);
    if (values['no-weight']) args['additionalVersionWeight'] = {};
  }
  return callGateway(values, output, {
    operation: `aliases-${action}`,
    args,
    defaultTimeoutMs: TIMEOUT_MS,
    print: (answer) => {
      const { alias } = answer as { alias: AliasRecord };
      const verb = action === 'delete' ? 'deleted' : action === 'create' ? 'created' : 'updated';
      output.out(`${verb} alias ${alias.aliasName} of ${service}: version ${alias.versionId}${action === 'delete' ? '' : formatWeights(alias) === '' ? '' : `, ${formatWeights(alias)}`}\n`);
    },
  });
}

/** `2=0.1` → { "2": 0.1 } */
function parseWeight(text: string): Record<string, number> {
  const match = /^([1-9][0-9]{0,9})=(0|1|0?\.[0-9]+|1\.0*)$/.exec(text.trim());
  if (match === null) throw new UsageError(`--weight must be VERSION=SHARE with a share from 0 to 1, e.g. 2=0.1 (got "${text}")`);
  return { [match[1] as string]: Number(match[2]) };
}

function formatWeights(alias: AliasRecord): string {
  return Object.entries(alias.additionalVersionWeight)
    .map(([id, weight]) => `${id}=${weight}`)
    .join(' ');
}
