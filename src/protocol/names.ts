/**
 * Name rules shared by the registry and the wire (docs/protocol.md §7.1, §2.4).
 */
import { InvalidArgumentError } from '../errors.js';
import { MAX_CLIENT_ID_LENGTH, MAX_NAME_LENGTH, MAX_REQUEST_ID_LENGTH } from './limits.js';

/** FC's rule: letters, digits, `_` and `-`; starts with a letter or `_`. */
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Topic-safe: no `/`, `+`, `#`, which would change a topic's meaning. */
const TOPIC_SAFE_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Why `value` is not a valid service or function name, or undefined if it is. */
export function nameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  if (!NAME_PATTERN.test(value)) {
    return 'may hold only letters, digits, "_" and "-", and must start with a letter or "_"';
  }
  return undefined;
}

export function assertName(kind: 'serviceName' | 'functionName', value: unknown): asserts value is string {
  const problem = nameProblem(value);
  if (problem !== undefined) {
    throw new InvalidArgumentError(`${kind} ${JSON.stringify(value)} ${problem}`);
  }
}

function topicSafeProblem(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.length > max) return `must be at most ${max} characters`;
  if (!TOPIC_SAFE_PATTERN.test(value)) return 'may hold only letters, digits, "_" and "-"';
  return undefined;
}

export function assertClientId(value: unknown): asserts value is string {
  const problem = topicSafeProblem(value, MAX_CLIENT_ID_LENGTH);
  if (problem !== undefined) throw new InvalidArgumentError(`clientId ${JSON.stringify(value)} ${problem}`);
}

export function assertRequestId(value: unknown): asserts value is string {
  const problem = topicSafeProblem(value, MAX_REQUEST_ID_LENGTH);
  if (problem !== undefined) throw new InvalidArgumentError(`requestId ${JSON.stringify(value)} ${problem}`);
}
