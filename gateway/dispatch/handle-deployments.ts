/**
 * Admin operations on deployments (docs/protocol.md §9.9–§9.11): the chunked upload of a bundle
 * (`deploy-begin`, `deploy-chunk`, `deploy-commit`, `deploy-abort`), `deployments-list`,
 * `deploy-rollback` and `remove`. Operators only, audited, as every admin operation (§9.8).
 */
import { InvalidArgumentError, ServiceUnavailableError } from 'edgefc/errors';
import type { DeploymentOperations, UploadOperations } from '../deployments/deployment-operations.js';
import type { DispatchContext } from './dispatch-context.js';

type Operation = (context: DispatchContext, args: Record<string, unknown>, principal: string) => unknown;

function parts(context: DispatchContext): { deployments: DeploymentOperations; uploads: UploadOperations } {
  if (context.deployments === undefined || context.uploads === undefined) throw new ServiceUnavailableError('this gateway does not take deploys (§9.9)');
  return { deployments: context.deployments, uploads: context.uploads };
}

export const DEPLOYMENT_OPERATIONS: Record<string, Operation> = {
  /** §9.9.2 */
  'deploy-begin': (context, args, principal) => parts(context).uploads.begin(principal, args['size'], args['sha256']),
  /** §9.9.3 */
  'deploy-chunk': (context, args, principal) => parts(context).uploads.chunk(principal, args),
  /** §9.9.4 */
  'deploy-commit': async (context, args, principal) => {
    const { deployments, uploads } = parts(context);
    const only = args['function'];
    if (only !== undefined && (typeof only !== 'string' || only.split('/').length !== 2)) throw new InvalidArgumentError('"function" must be "SERVICE/FUNCTION" (§9.9.4)');
    return deployments.deployBundle(await uploads.take(principal, args['uploadId']), principal, only);
  },
  /** §9.9.5 */
  'deploy-abort': async (context, args, principal) => {
    await parts(context).uploads.abort(principal, args['uploadId']);
    return {};
  },
  /** §9.10 */
  'deployments-list': async (context) => ({ deployments: await parts(context).deployments.list() }),
  /** §9.10 */
  'deploy-rollback': (context, args, principal) => {
    const id = args['deployment'];
    if (id !== undefined && (typeof id !== 'string' || !/^d[0-9]{1,12}$/.test(id))) throw new InvalidArgumentError('"deployment" must be a deployment id such as "d3" (§9.10)');
    return parts(context).deployments.rollback(id, principal);
  },
  /** §9.11 */
  remove: (context, args, principal) => {
    const name = args['function'];
    if (typeof name !== 'string' || name.split('/').length !== 2) throw new InvalidArgumentError('"function" must be "SERVICE/FUNCTION" (§9.11)');
    return parts(context).deployments.remove(name, principal);
  },
};

/** What the audit log keeps of a request's arguments: never a chunk's bytes. */
export function auditedArgs(operation: string, args: Record<string, unknown>): Record<string, unknown> {
  if (operation !== 'deploy-chunk') return args;
  const { data, ...rest } = args;
  return { ...rest, bytes: typeof data === 'string' ? Buffer.byteLength(data, 'base64') : 0 };
}
