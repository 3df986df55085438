/**
 * Turning whatever a function threw or passed to its callback into FC's error fields
 * (seed 000): errorMessage, errorType, stackTrace.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionErrorFields } from 'edgefc/errors';

/** This runtime's own code, as stack frames name it (file URL for ESM, path for the rest). */
const RUNTIME_URL = new URL('.', import.meta.url).href;
const RUNTIME_DIR = dirname(fileURLToPath(import.meta.url));

/**
 * Bounds on what an error carries, so its record stays far below the channel's 8 MiB
 * (function-channel.ts): a message of 64 Ki characters, a type of 256, 100 stack lines of 4 Ki.
 */
const MAX_MESSAGE_CHARS = 64 * 1024;
const MAX_TYPE_CHARS = 256;
const MAX_STACK_LINES = 100;
const MAX_STACK_LINE_CHARS = 4096;

/**
 * Errors: errorType is `err.name`, errorMessage `err.message`, stackTrace the stack's frame lines
 * (the `Name: message` header removed, each line trimmed). Anything else that was thrown:
 * errorType 'Error', errorMessage `String(value)`, no stack. Each cut at its bound above.
 */
export function toErrorFields(value: unknown): FunctionErrorFields {
  if (value instanceof Error) {
    const fields: FunctionErrorFields = {
      errorMessage: cut(String(value.message), MAX_MESSAGE_CHARS),
      errorType: cut(typeof value.name === 'string' && value.name !== '' ? value.name : 'Error', MAX_TYPE_CHARS),
    };
    const trace = stackLines(value);
    if (trace !== undefined) fields.stackTrace = trace.slice(0, MAX_STACK_LINES).map((line) => cut(line, MAX_STACK_LINE_CHARS));
    return fields;
  }
  return { errorMessage: cut(safeString(value), MAX_MESSAGE_CHARS), errorType: 'Error' };
}

/** `text`, or its first `max` characters and how many were cut. */
function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} characters cut)`;
}

export function errorFields(errorType: string, errorMessage: string): FunctionErrorFields {
  return { errorType, errorMessage };
}

function stackLines(err: Error): string[] | undefined {
  const stack = err.stack;
  if (typeof stack !== 'string') return undefined;
  // The header is `Name: message` and the message itself may span lines; drop it whole when it
  // is there, else only the first line (what the FC runtimes do).
  const header = err.message === '' ? err.name : `${err.name}: ${err.message}`;
  const body = stack.startsWith(header) ? stack.slice(header.length) : stack.slice(stack.indexOf('\n') + 1 || stack.length);
  const lines = body
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  // Everything from the first frame of this runtime down is how the gateway called the handler,
  // not the function's code: the caller's trace stops at its handler, as FC's does.
  const ours = lines.findIndex((line) => line.includes(RUNTIME_URL) || line.includes(RUNTIME_DIR));
  return ours === -1 ? lines : lines.slice(0, ours);
}

/** String(value) that cannot itself throw (objects with a hostile toString, Symbol.toPrimitive). */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
