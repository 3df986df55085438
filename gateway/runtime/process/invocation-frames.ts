/**
 * Writes FC's frame lines around a call (`FC Invoke Start/End RequestId: …`) and around an
 * initializer run (`FC Initialize Start/End …`) through `InstanceConfig.onFrame`. Every runtime
 * frames its calls itself, on the instance, so the lines sit where FC puts them: an
 * initializer's frames before the first call's `Invoke Start`, and `Invoke End` after every line
 * the call wrote through a channel ordered with its answer (Node's IPC; a non-web process's
 * drained pipes). docs/logs.md §1.
 */
import { EdgeFCError, ErrorCode } from 'edgefc/errors';
import type { FramePhase, FunctionLogFrame } from '../../logging/function-log.js';
import type { InstanceConfig } from '../types.js';

/** FC's wording for the End line of a failed call, where FC has one (fc-runtime-go-sdk, FC's consoles). */
export function frameError(error: unknown): string {
  const code = error instanceof EdgeFCError ? error.code : ErrorCode.InternalError;
  switch (code) {
    case ErrorCode.HandledInvocationError:
      return 'Handled function error';
    case ErrorCode.UnhandledInvocationError:
      return 'Unhandled function error';
    case ErrorCode.InitializationError:
      return 'Initialization error';
    case ErrorCode.FunctionTimeout:
    case ErrorCode.InitializationTimeout:
      return 'Function timed out';
    default:
      return code;
  }
}

export function writeFrame(
  config: InstanceConfig,
  phase: FramePhase,
  edge: 'Start' | 'End',
  requestId: string,
  options: { error?: unknown; failed?: boolean; errorText?: string; source?: FunctionLogFrame['source'] } = {},
): void {
  const { onFrame } = config;
  if (onFrame === undefined) return;
  try {
    onFrame({
      time: Date.now(),
      serviceName: config.fn.serviceName,
      functionName: config.fn.name,
      requestId,
      phase,
      edge,
      ...(options.errorText !== undefined ? { error: options.errorText } : options.failed === true ? { error: frameError(options.error) } : {}),
      source: options.source ?? 'gateway',
    });
  } catch {
    // A failing log sink must not take the instance or the gateway down.
  }
}

/**
 * Frame `run` as one `phase`: Start now, End when it settles (with the error's wording when it
 * rejects). The End line is written before the caller sees the outcome.
 */
export async function framed<T>(config: InstanceConfig, phase: FramePhase, requestId: string, run: () => Promise<T>): Promise<T> {
  writeFrame(config, phase, 'Start', requestId);
  try {
    const result = await run();
    writeFrame(config, phase, 'End', requestId);
    return result;
  } catch (error) {
    writeFrame(config, phase, 'End', requestId, { failed: true, error });
    throw error;
  }
}
