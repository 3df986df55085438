/**
 * Admin operations over MQTT (docs/protocol.md §9): what `edgefc list` and `edgefc stats` ask.
 */
import { InvalidArgumentError, toEdgeFCError } from '../../src/errors.js';
import { decodeFrame } from '../../src/protocol/envelope.js';
import { encodeErrorReply, encodeOkReply } from '../../src/protocol/reply.js';
import { replyTopic, type AdminAddress } from '../../src/protocol/topics.js';
import type { DispatchContext } from './dispatch-context.js';

export interface ListedFunction {
  name: string;
  runtime: string;
  handler: string;
  memorySize: number;
  timeout: number;
  instanceConcurrency: number;
  maxInstances: number;
}

export interface ListedService {
  name: string;
  description: string;
  functions: ListedFunction[];
}

type AdminOperation = (context: DispatchContext) => unknown;

const OPERATIONS: Record<string, AdminOperation> = {
  list: (context) => ({ services: listServices(context) }),
  stats: (context) => ({ uptimeMs: context.now() - context.startedAt, functions: context.host.stats() }),
};

export function handleAdmin(context: DispatchContext, address: AdminAddress, payload: Buffer): void {
  const replyTo = replyTopic(address.clientId);
  let requestId = '';
  try {
    const { header } = decodeFrame(payload);
    if (typeof header['id'] === 'string') requestId = header['id'];
    const operation = OPERATIONS[address.operation];
    if (operation === undefined) {
      throw new InvalidArgumentError(`unknown admin operation "${address.operation}"; known: ${Object.keys(OPERATIONS).join(', ')} (§9.3)`);
    }
    const result = Buffer.from(JSON.stringify(operation(context)), 'utf8');
    context.sink.publish(replyTo, encodeOkReply(requestId, result, false));
  } catch (error) {
    context.sink.publish(replyTo, encodeErrorReply(requestId, toEdgeFCError(error).toWire()));
  }
}

function listServices(context: DispatchContext): ListedService[] {
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
      })),
  }));
}
