/**
 * Field readers for the template loader: each one narrows an `unknown` from the parsed YAML,
 * records a problem (with the field's path and position) instead of throwing, and returns a
 * value or undefined, so one pass reports every problem in the file.
 */
import { closestName } from './closest-name.js';
import type { TemplateProblem } from './template-error.js';

export type FieldPath = readonly string[];

/** Where a field sits in the file: at its key (unknown field) or its value (bad value). */
export type Locate = (path: FieldPath, at: 'key' | 'value') => { line: number; col: number } | undefined;

export type YamlMap = Record<string, unknown>;

const PLAIN_SEGMENT = /^[A-Za-z0-9_-]+$/;

/** `services.EdgeFC.functions.hello`; odd keys are bracketed: `environmentVariables["A B"]`. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (PLAIN_SEGMENT.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export class ProblemList {
  readonly problems: TemplateProblem[] = [];

  constructor(private readonly locate: Locate) {}

  add(path: FieldPath, reason: string, at: 'key' | 'value' = 'value'): void {
    const problem: TemplateProblem = { field: formatPath(path), reason };
    const pos = this.locate(path, at);
    if (pos !== undefined) {
      problem.line = pos.line;
      problem.col = pos.col;
    }
    this.problems.push(problem);
  }

  get size(): number {
    return this.problems.length;
  }
}

/** How a wrong value is shown after "got": short, and unambiguous about its YAML type. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value;
}

export function isYamlMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether the template wrote `key` at all (even with no value), not inherited from Object. */
export function hasField(map: YamlMap, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(map, key);
}

/** The value at `path` as a map, or undefined after recording why not. */
export function expectMap(problems: ProblemList, value: unknown, path: FieldPath, what: string): YamlMap | undefined {
  if (isYamlMap(value)) return value;
  problems.add(path, `must be a map of ${what} (got ${describeValue(value)})`);
  return undefined;
}

/** Records every key not in `known`, with a hint when one is a near miss. */
export function checkKnownKeys(problems: ProblemList, map: YamlMap, path: FieldPath, known: readonly string[]): void {
  for (const key of Object.keys(map)) {
    if (known.includes(key)) continue;
    const hint = closestName(key, known);
    const reason = hint === undefined ? `unknown field; known fields: ${known.join(', ')}` : `unknown field; did you mean "${hint}"?`;
    problems.add([...path, key], reason, 'key');
  }
}

/** A field's value to check further, or what the reader returns without looking at one. */
type Lookup<T> = { present: true; value: unknown } | { present: false; result: T | undefined };

/**
 * The start every reader shares: an absent key gives the default, or records "missing" when the
 * field is required. A present key with no value (`timeout:`) is an error, not the default: it
 * is usually a value lost to indentation, and a slip must never fall back to a default unnoticed.
 */
function lookUp<T extends string | number>(problems: ProblemList, map: YamlMap, path: FieldPath, key: string, fallback: T | undefined): Lookup<T> {
  if (!hasField(map, key)) {
    if (fallback === undefined) problems.add(path, `missing required field "${key}"`, 'key');
    return { present: false, result: fallback };
  }
  const value = map[key];
  if (value === null || value === undefined) {
    const tail = fallback === undefined ? '' : `; remove the line to use the default (${JSON.stringify(fallback)})`;
    problems.add([...path, key], `has no value${tail}`);
    return { present: false, result: undefined };
  }
  return { present: true, value };
}

export interface StringRule {
  /** Used when the key is absent; without it the field is required. */
  default?: string;
  /** @default false */
  allowEmpty?: boolean;
  /** @default 1024 */
  maxLength?: number;
  /** Extra advice when a number or boolean was given, e.g. to quote an account ID. */
  quoteHint?: string;
}

export function readString(
  problems: ProblemList,
  map: YamlMap,
  path: FieldPath,
  key: string,
  rule: StringRule = {},
): string | undefined {
  const field = lookUp(problems, map, path, key, rule.default);
  if (!field.present) return field.result;
  const { value } = field;
  const fieldPath = [...path, key];
  if (typeof value !== 'string') {
    const hint = rule.quoteHint !== undefined && (typeof value === 'number' || typeof value === 'boolean') ? `; ${rule.quoteHint}` : '';
    problems.add(fieldPath, `must be a string (got ${describeValue(value)})${hint}`);
    return undefined;
  }
  if (value.length === 0 && rule.allowEmpty !== true) {
    problems.add(fieldPath, 'must not be empty');
    return undefined;
  }
  const maxLength = rule.maxLength ?? 1024;
  if (value.length > maxLength) {
    problems.add(fieldPath, `must be at most ${maxLength} characters (got ${value.length})`);
    return undefined;
  }
  return value;
}

export interface IntegerRule {
  min: number;
  max: number;
  /** Used when the key is absent; without it the field is required. */
  default?: number;
  /** `seconds` makes the message read "an integer number of seconds". */
  unit?: string;
}

export function readInteger(
  problems: ProblemList,
  map: YamlMap,
  path: FieldPath,
  key: string,
  rule: IntegerRule,
): number | undefined {
  const field = lookUp(problems, map, path, key, rule.default);
  if (!field.present) return field.result;
  const { value } = field;
  const fieldPath = [...path, key];
  // Strings are refused even when numeric ("3"): a quoted number is a different YAML type,
  // and accepting it would make `timeout: "3s"` versus `timeout: "3"` a confusing difference.
  if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
    const what = rule.unit === undefined ? 'an integer' : `an integer number of ${rule.unit}`;
    problems.add(fieldPath, `must be ${what} from ${rule.min} to ${rule.max} (got ${describeValue(value)})`);
    return undefined;
  }
  return value;
}
