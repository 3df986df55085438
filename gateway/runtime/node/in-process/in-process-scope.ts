/**
 * What the gateway process does once, the first time it runs a function in-process
 * (`isolation: none`, docs/runtime-node.md §9), so that function code behaves as it would in its
 * own process as far as a shared process allows:
 *
 * - every call runs inside an AsyncLocalStorage scope naming its instance and request ID; the
 *   scope follows the call through timers, promises and I/O callbacks;
 * - `console.*` inside a scope becomes the function's log lines (tagged with the request ID);
 *   outside any scope the gateway's own console is untouched;
 * - an uncaught exception or unhandled rejection raised inside a scope fails that call and is
 *   logged to the function, instead of taking the gateway down; one raised outside every scope
 *   keeps Node's default (print, exit 1) unless someone else listens for it;
 * - `process.exit()` inside a scope throws instead of ending the gateway.
 *
 * What cannot be contained is documented, not hidden: a synchronous endless loop blocks the
 * gateway, memory is the gateway's, `process.env` and the working directory are shared.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { inspect } from 'node:util';
import type { FunctionLogLevel } from '../../../logging/function-log.js';
import { capLogLine } from '../../process/log-lines.js';
import { replaceConsole } from '../child/console-capture.js';
import { setAmbientTraceSource, type TraceContext } from 'edgefc/protocol';

/** The call (or load / initializer run, requestId '') that the code running now belongs to. */
export interface InProcessScope {
  requestId: string;
  /** The instance's own number for the call (request IDs are only unique per client); 0 outside calls. */
  call: number;
  log(requestId: string, level: FunctionLogLevel, message: string): void;
  /** An exception or rejection the function left unhandled, raised in `scope`. */
  crashed(scope: InProcessScope, reason: unknown): void;
  /** The call's trace context, which `new FCClient()` in its code continues (docs/protocol.md §3.7.4). */
  trace?: TraceContext;
}

const scopes = new AsyncLocalStorage<InProcessScope>();
let installed = false;

/** Run `fn` as function code of `scope`. Installs the process-wide hooks on first use. */
export function runInScope<T>(scope: InProcessScope, fn: () => T): T {
  if (!installed) install();
  return scopes.run(scope, fn);
}

/** The scope of the code running now; undefined in the gateway's own code. */
export function currentScope(): InProcessScope | undefined {
  return scopes.getStore();
}

/** The error `process.exit()` throws inside function code. */
export class ProcessExitRefused extends Error {
  override name = 'ProcessExitRefused';
}

function install(): void {
  installed = true;
  setAmbientTraceSource(() => scopes.getStore()?.trace);
  const original = console as unknown as Record<string, (...args: unknown[]) => void>;
  const gatewayConsole = new Map(Object.entries(original).filter(([, value]) => typeof value === 'function'));
  replaceConsole((method, level, message) => {
    const scope = scopes.getStore();
    if (scope === undefined) {
      gatewayConsole.get(method)?.call(console, message);
      return;
    }
    scope.log(scope.requestId, level, capLogLine(message));
  });

  const exit = process.exit.bind(process);
  process.exit = ((code?: number | string | null) => {
    if (scopes.getStore() !== undefined) {
      throw new ProcessExitRefused(
        `process.exit(${code ?? ''}) was called by a function that runs inside the gateway process (isolation: none); it would stop the gateway`,
      );
    }
    return exit(code);
  });

  process.on('uncaughtException', (error) => {
    const scope = scopes.getStore();
    if (scope !== undefined) {
      scope.crashed(scope, error);
      return;
    }
    // Not a function's: Node's own behaviour, unless another listener has taken it on.
    if (process.listenerCount('uncaughtException') > 1) return;
    process.stderr.write(`${inspect(error)}\n`);
    exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    const scope = scopes.getStore();
    if (scope !== undefined) {
      scope.crashed(scope, reason);
      return;
    }
    if (process.listenerCount('unhandledRejection') > 1) return;
    // Node's default for an unhandled rejection (--unhandled-rejections=throw): an uncaught exception.
    throw reason;
  });
}
