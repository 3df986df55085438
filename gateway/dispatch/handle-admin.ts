/**
 * Admin operations over MQTT (docs/protocol.md §9): what `edgefc list`, `stats` and
 * `invocations` ask.
 */
import { ErrorCode, InvalidArgumentError, ServiceUnavailableError, toEdgeFCError } from 'edgefc/errors';
import type { AuditEntry } from '../security/audit-log.js';
import { decodeFrame } from 'edgefc/protocol';
import { encodeErrorReply, encodeOkReply } from 'edgefc/protocol';
import { replyTopic, type AdminAddress } from 'edgefc/protocol';
import { assertRequestId } from 'edgefc/protocol';
import type { ListFilter } from '../async/async-store.js';
import { InvocationState, isInvocationState, toView } from '../async/invocation-record.js';
import type { DispatchContext } from './dispatch-context.js';
import { Isolation } from '../registry/types.js';
import { describeFunction } from './describe-function.js';
import { readLogs } from './handle-logs.js';
import { auditedArgs, DEPLOYMENT_OPERATIONS } from './handle-deployments.js';
import { VERSION_OPERATIONS } from './handle-versions.js';

export interface ListedFunction {
  name: string;
  runtime: string;
  handler: string;
  memorySize: number;
  timeout: number;
  instanceConcurrency: number;
  maxInstances: number;
  /** Provisioned instances kept warm (minInstances; 0: none). */
  minInstances: number;
  /** Live instances now (plus those starting), and those of them running no call. */
  instances: number;
  idle: number;
  /** Where its handler runs: `process` (its own process per instance) or `none` (inside the gateway). */
  isolation: Isolation;
}

export interface ListedService {
  name: string;
  description: string;
  functions: ListedFunction[];
}

type AdminOperation = (context: DispatchContext, args: Record<string, unknown>, principal: string) => unknown;

const OPERATIONS: Record<string, AdminOperation> = {
  list: (context) => ({ services: listServices(context) }),
  stats: (context) => ({ uptimeMs: context.now() - context.startedAt, functions: context.host.stats(), memory: context.host.memory() }),
  'invocations-list': listInvocations,
  'invocations-get': getInvocation,
  'invocations-cancel': cancelInvocation,
  'invocations-stop': stopInvocation,
  deploy,
  describe: describeFunction,
  'logs-read': readLogs,
  'cluster-status': clusterStatus,
  ...DEPLOYMENT_OPERATIONS,
  ...VERSION_OPERATIONS,
};

export function handleAdmin(context: DispatchContext, address: AdminAddress, payload: Buffer): void {
  const replyTo = replyTopic(address.clientId);
  let requestId = '';
  let principal = address.clientId;
  let args: Record<string, unknown> = {};
  const audit = (outcome: AuditEntry['outcome'], code?: string): void =>
    context.audit?.({ principal, clientId: address.clientId, operation: address.operation, args: auditedArgs(address.operation, args), outcome, ...(code === undefined ? {} : { code }) });
  const fail = (error: unknown): void => {
    const typed = toEdgeFCError(error);
    audit(typed.code === ErrorCode.AccessDenied ? 'denied' : 'failed', typed.code);
    context.sink.publish(replyTo, encodeErrorReply(requestId, typed.toWire()));
  };
  try {
    const { header, body } = decodeFrame(payload);
    if (typeof header['id'] === 'string') requestId = header['id'];
    // §9.8: operators only, on every broker; checked before the arguments are even read.
    principal = context.policy?.assertOperator(address.clientId, address.operation).name ?? principal;
    const operation = OPERATIONS[address.operation];
    if (operation === undefined) {
      throw new InvalidArgumentError(`unknown admin operation "${address.operation}"; known: ${Object.keys(OPERATIONS).join(', ')} (§9.3)`);
    }
    args = parseArgs(body);
    // Promise.resolve: cancel waits for its write to be committed; the others answer at once.
    Promise.resolve(operation(context, args, principal)).then((result) => {
      audit('ok');
      context.sink.publish(replyTo, encodeOkReply(requestId, Buffer.from(JSON.stringify(result), 'utf8'), false));
    }, fail);
  } catch (error) {
    fail(error);
  }
}

function parseArgs(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let args: unknown;
  try {
    args = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new InvalidArgumentError('admin arguments must be a JSON object (§9.1)', { cause });
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new InvalidArgumentError('admin arguments must be a JSON object (§9.1)');
  return args as Record<string, unknown>;
}

/** §9.4 */
async function listInvocations(context: DispatchContext, args: Record<string, unknown>): Promise<unknown> {
  const filter: ListFilter = {};
  if (args['function'] !== undefined) {
    const parts = typeof args['function'] === 'string' ? args['function'].split('/') : [];
    if (parts.length !== 2) throw new InvalidArgumentError('"function" must be "SERVICE/FUNCTION" (§9.4)');
    filter.service = parts[0] as string;
    filter.function = parts[1] as string;
  }
  if (args['state'] !== undefined) {
    if (!isInvocationState(args['state'])) {
      throw new InvalidArgumentError(`"state" must be one of ${Object.values(InvocationState).join(', ')} (§9.4)`);
    }
    filter.state = args['state'];
  }
  const limit = args['limit'] ?? 100;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new InvalidArgumentError('"limit" must be a whole number from 1 to 10000 (§9.4)');
  }
  filter.limit = limit;
  return { invocations: (await context.async.list(filter)).map((record) => toView(record, false)) };
}

function requestIdArg(args: Record<string, unknown>): string {
  const requestId = args['requestId'];
  assertRequestId(requestId);
  return requestId;
}

/** §9.5 */
async function getInvocation(context: DispatchContext, args: Record<string, unknown>): Promise<unknown> {
  const requestId = requestIdArg(args);
  const records = await context.async.get(requestId);
  if (records.length === 0) throw new InvalidArgumentError(`no Async invocation with request ID ${requestId} (pruned, or never accepted)`);
  return { invocations: records.map((record) => toView(record, true)) };
}

/** §9.6 */
async function cancelInvocation(context: DispatchContext, args: Record<string, unknown>): Promise<unknown> {
  const clientId = args['clientId'];
  if (clientId !== undefined && typeof clientId !== 'string') throw new InvalidArgumentError('"clientId" must be a string (§9.6)');
  const record = await context.async.cancel(requestIdArg(args), clientId);
  return { invocation: toView(record, true) };
}

/** §9.6a: stop a call, running or waiting (FC's StopAsyncTask); operators only, as every admin operation (§9.8). */
async function stopInvocation(context: DispatchContext, args: Record<string, unknown>): Promise<unknown> {
  const clientId = args['clientId'];
  if (clientId !== undefined && typeof clientId !== 'string') throw new InvalidArgumentError('"clientId" must be a string (§9.6a)');
  const record = await context.async.stop(requestIdArg(args), clientId);
  return { invocation: toView(record, true) };
}

/**
 * §9.7: a template path on the gateway's machine, inside a directory it trusts for deploys
 * (AccessDenied otherwise, checked by the gateway's deploy); TemplateError (InvalidArgument)
 * leaves the old deploy serving.
 */
function deploy(context: DispatchContext, args: Record<string, unknown>, principal: string): Promise<unknown> {
  const template = args['template'];
  if (template !== undefined && (typeof template !== 'string' || template === '')) {
    throw new InvalidArgumentError('"template" must be a path on the gateway\'s machine (§9.7)');
  }
  if (context.deploy === undefined) throw new ServiceUnavailableError('this gateway does not take deploys (§9.7)');
  return context.deploy(template, principal);
}

/** §9.16: the gateways serving together, their load, and in NATS mode the streams and servers. */
function clusterStatus(context: DispatchContext): Promise<unknown> {
  if (context.clusterStatus === undefined) throw new ServiceUnavailableError('this gateway reports no cluster status (§9.16)');
  return context.clusterStatus();
}

function listServices(context: DispatchContext): ListedService[] {
  const stats = new Map(context.host.stats().map((s) => [`${s.service}/${s.function}`, s]));
  return context.registry.services().map((service) => ({
    name: service.name,
    description: service.description,
    functions: context.registry.functions(service.name).map((fn) => ({
        name: fn.name,
        runtime: fn.runtime,
        handler: fn.handler,
        memorySize: fn.memorySizeMB,
        timeout: fn.timeoutMs / 1000,
        instanceConcurrency: fn.instanceConcurrency,
        maxInstances: fn.maxInstances,
        minInstances: fn.minInstances ?? 0,
        instances: stats.get(`${service.name}/${fn.name}`)?.instances ?? 0,
        idle: stats.get(`${service.name}/${fn.name}`)?.idle ?? 0,
        isolation: fn.isolation ?? Isolation.process,
      })),
  }));
}
