/**
 * What a custom runtime's answer means (FC's custom runtime event handler contract, seeds 002
 * and 004): the body is the result; the `x-fc-status` response header says whether the
 * function succeeded.
 *
 * | x-fc-status | outcome |
 * |---|---|
 * | absent, or `200` | success, whatever the HTTP status (FC: "if you do not specify x-fc-status, the invocation counts as successful") |
 * | `404` | HandledInvocationError: FC's value for "the function failed", reported by the function itself |
 * | anything else | UnhandledInvocationError |
 *
 * An error's body, when it is a JSON object with a string `errorMessage`, supplies
 * `errorMessage`, `errorType` and `stackTrace` (FC's error body); otherwise the body text is
 * the message and the type is `FunctionError`.
 */
import { HandledInvocationError, InitializationError, UnhandledInvocationError } from 'edgefc/errors';
import type { FunctionError, FunctionErrorFields } from 'edgefc/errors';
import { FcHeader } from '../process/fc-headers.js';
import type { InvocationResult } from '../types.js';
import type { HttpAnswer } from './http-exchange.js';

/** errorMessage taken from a non-JSON error body: enough for a message, not a log dump. */
const MAX_ERROR_TEXT = 4096;

export type WebOutcome = { ok: true; result: InvocationResult } | { ok: false; error: FunctionError };

function fcStatus(answer: HttpAnswer): string | undefined {
  const value = answer.headers[FcHeader.status];
  return Array.isArray(value) ? value[0] : value;
}

export function succeeded(answer: HttpAnswer): boolean {
  const status = fcStatus(answer);
  return status === undefined || status.trim() === '200';
}

/** FC's error fields from an error answer's body. */
export function errorFields(answer: HttpAnswer): FunctionErrorFields {
  const text = answer.body.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const record = parsed as Record<string, unknown>;
      if (typeof record['errorMessage'] === 'string') {
        const fields: FunctionErrorFields = {
          errorMessage: record['errorMessage'],
          errorType: typeof record['errorType'] === 'string' ? record['errorType'] : 'FunctionError',
        };
        const trace = record['stackTrace'];
        if (Array.isArray(trace)) fields.stackTrace = trace.map((frame) => (typeof frame === 'string' ? frame : JSON.stringify(frame)));
        return fields;
      }
    }
  } catch {
    // Not JSON: the text itself is the message.
  }
  const message = text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)} …[truncated]` : text;
  return {
    errorMessage: message === '' ? `the function answered x-fc-status ${fcStatus(answer) ?? ''} (HTTP ${answer.status})` : message,
    errorType: 'FunctionError',
  };
}

export function invokeOutcome(answer: HttpAnswer, requestId: string): WebOutcome {
  if (succeeded(answer)) {
    const type = answer.headers['content-type'] ?? '';
    // A server that labels its answer as bytes gets them delivered as bytes (`binary: true` on
    // the wire, docs/protocol.md §4.1); any other answer is text.
    return { ok: true, result: { payload: answer.body, binary: type.startsWith('application/octet-stream') } };
  }
  const fields = errorFields(answer);
  const options = { requestId };
  return {
    ok: false,
    error: fcStatus(answer)?.trim() === '404' ? new HandledInvocationError(fields, options) : new UnhandledInvocationError(fields, options),
  };
}

export function initializeOutcome(answer: HttpAnswer, requestId: string): InitializationError | undefined {
  return succeeded(answer) ? undefined : new InitializationError(errorFields(answer), { requestId });
}
