/**
 * Admin operations on service versions and aliases (docs/protocol.md §9.14, §9.15):
 * `versions-publish`, `versions-list`, `versions-delete`, `aliases-create`, `aliases-update`,
 * `aliases-delete`, `aliases-list`. Operators only, audited, as every admin operation (§9.8).
 */
import { InvalidArgumentError, ServiceUnavailableError } from 'edgefc/errors';
import type { Versions } from '../versions/versions.js';
import type { DispatchContext } from './dispatch-context.js';

type Operation = (context: DispatchContext, args: Record<string, unknown>, principal: string) => unknown;

function versionsOf(context: DispatchContext): Versions {
  // In NATS mode they are the cluster's (cluster/cluster-versions.ts, §9.14a).
  if (context.versions === undefined || context.deployments === undefined) {
    throw new ServiceUnavailableError('this gateway keeps no versions or aliases (§9.14)');
  }
  return context.versions;
}

function text(args: Record<string, unknown>, name: string, clause: string, optional = false): string {
  const value = args[name];
  if (value === undefined && optional) return '';
  if (typeof value !== 'string' || (value === '' && !optional)) throw new InvalidArgumentError(`"${name}" must be a${optional ? '' : ' non-empty'} string (${clause})`);
  return value;
}

function versionId(args: Record<string, unknown>, clause: string): string {
  const value = args['versionId'];
  const id = typeof value === 'number' ? String(value) : value;
  if (typeof id !== 'string' || !/^[1-9][0-9]{0,9}$/.test(id)) throw new InvalidArgumentError(`"versionId" must be a version number such as "1" (${clause})`);
  return id;
}

function weights(args: Record<string, unknown>): Record<string, number> | undefined {
  const value = args['additionalVersionWeight'];
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError('"additionalVersionWeight" must be an object such as {"2": 0.1} (§9.15)');
  for (const [id, weight] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[1-9][0-9]{0,9}$/.test(id) || typeof weight !== 'number') throw new InvalidArgumentError('"additionalVersionWeight" maps a version number to a weight from 0 to 1 (§9.15)');
  }
  return value as Record<string, number>;
}

function putAlias(create: boolean): Operation {
  return (context, args) => {
    const versions = versionsOf(context);
    const alias: Parameters<Versions['putAlias']>[1] = { aliasName: text(args, 'aliasName', '§9.15') };
    if (create || args['versionId'] !== undefined) alias.versionId = versionId(args, '§9.15');
    if (args['description'] !== undefined) alias.description = text(args, 'description', '§9.15', true);
    const weight = weights(args);
    if (weight !== undefined) alias.additionalVersionWeight = weight;
    return versions.putAlias(text(args, 'service', '§9.15'), alias, create).then((record) => ({ alias: record }));
  };
}

export const VERSION_OPERATIONS: Record<string, Operation> = {
  /** §9.14 */
  'versions-publish': (context, args, principal) =>
    versionsOf(context)
      .publish(text(args, 'service', '§9.14'), text(args, 'description', '§9.14', true), principal)
      .then((version) => ({ version })),
  /** §9.14 */
  'versions-list': (context, args) => ({ versions: versionsOf(context).list(text(args, 'service', '§9.14')) }),
  /** §9.14 */
  'versions-delete': (context, args) => versionsOf(context).deleteVersion(text(args, 'service', '§9.14'), versionId(args, '§9.14')).then((version) => ({ version })),
  /** §9.15 */
  'aliases-create': putAlias(true),
  'aliases-update': putAlias(false),
  'aliases-delete': (context, args) => versionsOf(context).deleteAlias(text(args, 'service', '§9.15'), text(args, 'aliasName', '§9.15')).then((alias) => ({ alias })),
  'aliases-list': (context, args) => ({ aliases: versionsOf(context).aliases(text(args, 'service', '§9.15')) }),
};
