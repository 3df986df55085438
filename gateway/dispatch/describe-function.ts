/**
 * The admin operation `describe` (docs/protocol.md §9.9): one function as the gateway serves
 * it. Environment variables by NAME only: their values are often secrets, and an operator who
 * needs them reads the template on the gateway's machine.
 */
import { InvalidArgumentError } from 'edgefc/errors';
import { asyncConfigOf } from '../async/async-config.js';
import { DEFAULT_INVOKERS } from '../security/call-policy.js';
import { Isolation } from '../registry/types.js';
import type { DispatchContext } from './dispatch-context.js';

export async function describeFunction(context: DispatchContext, args: Record<string, unknown>): Promise<unknown> {
  const name = args['function'];
  const parts = typeof name === 'string' ? name.split('/') : [];
  if (parts.length !== 2) throw new InvalidArgumentError('"function" must be "SERVICE/FUNCTION" (§9.9)');
  const { service, fn } = context.registry.lookup(parts[0] as string, parts[1] as string);
  const label = `${service.name}/${fn.name}`;
  const stats = context.host.stats().find((s) => s.service === service.name && s.function === fn.name);
  const asyncConfig = asyncConfigOf(fn);
  return {
    service: { name: service.name, description: service.description },
    function: {
      name: fn.name,
      description: fn.description,
      runtime: fn.runtime,
      handler: fn.handler,
      codeDir: fn.codeDir,
      memorySize: fn.memorySizeMB,
      timeout: fn.timeoutMs / 1000,
      initializer: fn.initializer ?? null,
      initializationTimeout: fn.initializationTimeoutMs / 1000,
      instanceConcurrency: fn.instanceConcurrency,
      maxInstances: fn.maxInstances,
      minInstances: fn.minInstances ?? 0,
      maxQueueLength: fn.maxQueueLength,
      isolation: fn.isolation ?? Isolation.process,
      idleTimeout: fn.idleTimeoutMs === undefined ? null : fn.idleTimeoutMs / 1000,
      environmentVariables: Object.keys(fn.environmentVariables).sort(),
      customRuntimeConfig: fn.customRuntimeConfig ?? null,
      runAs: fn.runAs === undefined ? null : { uid: fn.runAs.uid, gid: fn.runAs.gid },
    },
    triggers: (fn.triggers ?? []).map((t) => ({ name: t.name, type: t.type, topic: t.topic })),
    invokers: [...(fn.invokers ?? DEFAULT_INVOKERS)],
    asyncConfiguration: {
      maxAsyncRetryAttempts: asyncConfig.maxAsyncRetryAttempts,
      maxAsyncEventAge: asyncConfig.maxAsyncEventAgeMs / 1000,
      maxAsyncQueueLength: asyncConfig.maxAsyncQueueLength,
      onSuccess: asyncConfig.onSuccess ?? null,
      onFailure: asyncConfig.onFailure ?? null,
    },
    instances: stats === undefined ? null : { instances: stats.instances, provisioned: stats.provisioned, idle: stats.idle, running: stats.running, queued: stats.queued, completed: stats.completed, failed: stats.failed, throttled: stats.throttled },
    // Seconds, since the gateway started, from the handler-time histogram's buckets (an upper bound).
    latency: context.metrics === undefined ? null : await context.metrics.latency(label),
  };
}
