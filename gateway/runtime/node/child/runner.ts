/**
 * Entry point of a function instance: one child process per instance (see ../node-instance.ts
 * for why). It loads the handler once, then runs calls as the gateway sends them, several at a
 * time when instanceConcurrency > 1, and answers over its channel to the gateway (fd 3,
 * ./function-channel.ts).
 *
 * It must run as compiled JS (dist/gateway/runtime/node/child/runner.js); ../child-entry.ts
 * finds it.
 */
import { register } from 'node:module';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { FunctionTimeoutError } from 'edgefc/errors';
import type { FunctionErrorFields } from 'edgefc/errors';
import {
  ChildMessageType,
  ParentMessageType,
  isParentMessage,
} from './ipc-messages.js';
import type { ChildMessage, InitMessage, InvokeMessage, LoadMessage } from './ipc-messages.js';
import { adoptFunction } from './adopt-function.js';
import { IpcBatcher } from './ipc-batch.js';
import { CHANNEL_FD, FunctionChannel } from './function-channel.js';
import { buildContext } from './context.js';
import { LazyAbort } from './lazy-abort.js';
import type { ContextSource } from './context.js';
import { callScope, captureConsole, type CallScope } from './console-capture.js';
import { DroppedOutputReports } from './dropped-output.js';
import { budgetStdio } from './stdio-budget.js';
import { CallOutputBudget, DEFAULT_MAX_INVOCATION_LOG_BYTES, OutsideCallsBudget } from '../../../logging/output-budget.js';
import { loadExport } from './load-handler.js';
import { runLifecycleHook } from './run-hook.js';
import type { AnyFunction } from './load-handler.js';
import { runWithCallback } from './run-handler.js';
import type { HandlerOutcome } from './run-handler.js';
import { convertResult } from './result.js';
import { toErrorFields } from './error-fields.js';
import type { SdkHookData } from './sdk-resolve-hook.js';
import { setAmbientTraceSource } from 'edgefc/protocol';

let source: ContextSource | undefined;
let handler: AnyFunction | undefined;
/** Output one call may log; set by `load`. */
let maxLogBytes = DEFAULT_MAX_INVOCATION_LOG_BYTES;
/** The scope of everything that runs outside a call: module load, initializer, preStop. */
let outsideCalls: CallScope = { requestId: '', output: new OutsideCallsBudget(maxLogBytes, () => performance.now()) };
/** Calls running now, by callId; a call leaves this map when it answers or is aborted. */
const running = new Map<number, LazyAbort>();
let crashing = false;

/**
 * The gateway's channel. When it ends, the gateway went away (it crashed, or was killed): take
 * our whole process group down with us, so no function keeps running, or keeps its children
 * running, unsupervised. The same when what arrives is not the gateway's (ChannelCodecError).
 */
const channel = new FunctionChannel<ChildMessage>(new Socket({ fd: CHANNEL_FD, readable: true, writable: true }), {
  onMessage: (message) => onMessage(message),
  onMalformed: () => killOwnGroup(),
  onClose: () => killOwnGroup(),
});

function killOwnGroup(): void {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.exit(1);
  }
}

/** Replies coalesced per event-loop turn (ipc-batch.ts): calls finishing together share a write. */
const outbox = new IpcBatcher<ChildMessage>((payload, callback) => channel.send(payload, callback));

function send(message: ChildMessage, after?: (err: Error | null) => void): void {
  outbox.send(message, after);
}

// §3.7.4: an FCClient in function code continues the trace of the call it runs in; the scope
// follows that call's promises and timers, so concurrent calls in one instance do not mix.
setAmbientTraceSource(() => callScope.getStore()?.trace);

const droppedOutput = new DroppedOutputReports((requestId, bytes, lines) => send({ type: ChildMessageType.logDropped, requestId, bytes, lines }));

let hookRegistered = false;

/** The ESM resolve hook for `import 'linkedge-core-sdk'`: a loader thread, ~35-60 ms; once. */
function registerSdkHook(runtimeModulesDir: string): void {
  if (hookRegistered) return;
  hookRegistered = true;
  register<SdkHookData>(new URL('./sdk-resolve-hook.js', import.meta.url), {
    data: { runtimeModulesDir },
  });
}

async function onLoad(message: LoadMessage): Promise<void> {
  if (message.adopt !== undefined) {
    try {
      adoptFunction(message.adopt.env, message.adopt.cwd, message.adopt.user);
    } catch (err) {
      // chdir failed (the code directory is gone), or the switch to the function's user: a fork
      // would not have started either.
      send({ type: ChildMessageType.loadFailed, error: toErrorFields(err), unavailable: true });
      return;
    }
  }
  source = { spec: message.spec, service: message.service, identity: message.identity };
  maxLogBytes = message.maxLogBytesPerCall ?? DEFAULT_MAX_INVOCATION_LOG_BYTES;
  outsideCalls = { requestId: '', output: new OutsideCallsBudget(maxLogBytes, () => performance.now()) };
  captureConsole((line) => send({ type: ChildMessageType.log, ...line }), outsideCalls, droppedOutput.dropped);
  budgetStdio(process.stdout, outsideCalls, droppedOutput.dropped);
  budgetStdio(process.stderr, outsideCalls, droppedOutput.dropped);
  registerSdkHook(message.runtimeModulesDir);
  const loaded = await callScope.run(outsideCalls, () => loadExport(message.spec.codeDir, message.spec.handler));
  if (!loaded.ok) {
    send({ type: ChildMessageType.loadFailed, error: loaded.error });
    return;
  }
  handler = loaded.fn;
  send({ type: ChildMessageType.ready });
}

async function onInit(message: InitMessage): Promise<void> {
  const fail = (error: FunctionErrorFields): void =>
    send({ type: ChildMessageType.initFailed, initId: message.initId, error });
  if (source === undefined) return fail({ errorType: 'InternalError', errorMessage: 'init before load' });
  const initializer = source.spec.initializer;
  if (initializer === undefined) {
    send({ type: ChildMessageType.initDone, initId: message.initId });
    return;
  }
  // Initializer output is not part of any call (gateway/logging/function-log.ts): request ID ''.
  const error = await callScope.run(outsideCalls, () => runLifecycleHook(source!, initializer, message.requestId));
  if (error === undefined) send({ type: ChildMessageType.initDone, initId: message.initId });
  else fail(error);
}

/** The function's preStop hook; the gateway stops the process after it, or after its timeout. */
async function onPreStop(): Promise<void> {
  const preStop = source?.spec.preStop;
  const error =
    source === undefined || preStop === undefined
      ? undefined
      : await callScope.run(outsideCalls, () => runLifecycleHook(source!, preStop.handler, ''));
  send({ type: ChildMessageType.preStopDone, ...(error === undefined ? {} : { error }) });
}

async function onInvoke(message: InvokeMessage): Promise<void> {
  const { callId } = message;
  if (source === undefined || handler === undefined) {
    send({
      type: ChildMessageType.error,
      callId,
      handled: false,
      error: { errorType: 'InternalError', errorMessage: 'invoke before the handler was loaded' },
    });
    return;
  }
  const controller = new LazyAbort();
  running.set(callId, controller);
  // The channel hands bytes back as a Buffer (a view of its read); a message without them gets an empty event.
  const event = Buffer.isBuffer(message.event) ? message.event : Buffer.alloc(0);
  const context = buildContext(source, {
    requestId: message.requestId,
    qualifier: message.qualifier,
    invokerContext: message.invokerContext,
    abort: controller,
    retryCount: message.retryCount ?? 0,
    trace: message.trace,
  });
  const fn = handler;
  const scope: CallScope = { requestId: message.requestId, output: new CallOutputBudget(maxLogBytes) };
  if (message.trace !== undefined) scope.trace = message.trace;
  const outcome = await callScope.run(scope, () => runWithCallback(fn, [event, context], 3));
  // Aborted: the gateway already answered this call with FunctionTimeout; drop the late result.
  if (running.get(callId) !== controller) return;
  running.delete(callId);
  // Ahead of the reply: the gateway writes the call's marker line when the reply ends it.
  droppedOutput.report(scope);
  send(replyFor(callId, outcome));
}

function replyFor(callId: number, outcome: HandlerOutcome): ChildMessage {
  switch (outcome.kind) {
    case 'ok': {
      const converted = convertResult(outcome.value);
      if (converted.ok) {
        return { type: ChildMessageType.result, callId, payload: converted.payload, binary: converted.binary };
      }
      return { type: ChildMessageType.error, callId, handled: false, error: converted.error };
    }
    case 'handled':
      return { type: ChildMessageType.error, callId, handled: true, error: toErrorFields(outcome.error) };
    case 'unhandled':
      return { type: ChildMessageType.error, callId, handled: false, error: toErrorFields(outcome.error) };
  }
}

/**
 * An uncaught exception or unhandled rejection leaves the process in an unknown state (FC
 * restarts the instance too): report it, then exit. The gateway fails the calls in flight and
 * replaces the instance. The exit waits for the report to be flushed, 500 ms at most.
 */
function crash(reason: unknown): void {
  if (crashing) return;
  crashing = true;
  const exit = (): never => process.exit(70);
  setTimeout(exit, 500).unref();
  send({ type: ChildMessageType.crash, error: toErrorFields(reason) }, exit);
}

process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

function onMessage(message: unknown): void {
  if (!isParentMessage(message)) return;
  switch (message.type) {
    case ParentMessageType.prepare:
      registerSdkHook(message.runtimeModulesDir);
      send({ type: ChildMessageType.prepared });
      return;
    case ParentMessageType.load:
      void onLoad(message).catch(crash);
      return;
    case ParentMessageType.init:
      void onInit(message).catch(crash);
      return;
    case ParentMessageType.invoke:
      void onInvoke(message).catch(crash);
      return;
    case ParentMessageType.abort: {
      const controller = running.get(message.callId);
      running.delete(message.callId);
      controller?.abort(new FunctionTimeoutError(message.message));
      return;
    }
    case ParentMessageType.ping:
      send({ type: ChildMessageType.pong, nonce: message.nonce });
      return;
    case ParentMessageType.preStop:
      void onPreStop().catch(crash);
      return;
    case ParentMessageType.shutdown:
      process.exit(0);
  }
}
