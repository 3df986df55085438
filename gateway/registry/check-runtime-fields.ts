/**
 * The template fields that depend on the runtime: what `handler` means (a Node.js `file.export`,
 * a free-form string for custom runtimes, an executable for go1), `customRuntimeConfig` and
 * `instanceLifecycleConfig`. Problems are recorded, never thrown (check-template.ts).
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  checkKnownKeys,
  describeValue,
  expectMap,
  hasField,
  readInteger,
  readString,
  type FieldPath,
  type ProblemList,
  type YamlMap,
} from './template-fields.js';
import {
  CUSTOM_PORT,
  CUSTOM_RUNTIME_FIELDS,
  DEFAULT_BOOTSTRAP,
  LIFECYCLE_FIELDS,
  LIFECYCLE_HOOK_FIELDS,
  IDLE_TIMEOUT,
  PRE_STOP_TIMEOUT,
} from './template-schema.js';
import { parseHandler } from './handler-ref.js';
import { Isolation, RuntimeName, type CustomRuntimeSpec, type LifecycleHookSpec } from './types.js';

const SUPPORTED_RUNTIMES: readonly string[] = Object.values(RuntimeName);

export function isNodeRuntime(runtime: RuntimeName): boolean {
  return runtime === RuntimeName.nodejs20 || runtime === RuntimeName.nodejs18;
}

/** Why `value` is not a runtime this gateway runs; undefined when it is one. */
export function runtimeProblem(value: string): string | undefined {
  if (SUPPORTED_RUNTIMES.includes(value)) return undefined;
  if (value === 'custom-container') {
    return 'runtime "custom-container" is not supported on this gateway: it runs no container engine. ' +
      'Run the image\'s server directly with runtime: custom and customRuntimeConfig.command';
  }
  return `runtime ${JSON.stringify(value)} is not supported; supported: ${SUPPORTED_RUNTIMES.join(', ')}`;
}

const HANDLER_SEGMENT = /^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*$/;

/**
 * go1: the handler names the executable in codeUri (seed 001: "set the handler to the name of
 * the executable file"). It must stay inside codeUri and be executable.
 */
export async function checkExecutableHandler(codeDir: string, handler: string): Promise<string | undefined> {
  const segments = handler.split('/');
  if (segments.some((s) => !HANDLER_SEGMENT.test(s))) {
    return `must name an executable file inside codeUri (letters, digits, "_", "-", "." and "/"; no ".." or leading "/"), got ${JSON.stringify(handler)}`;
  }
  return checkExecutable(path.join(codeDir, ...segments));
}

async function checkExecutable(file: string): Promise<string | undefined> {
  try {
    if (!(await stat(file)).isFile()) return `${file} is not a file`;
  } catch {
    return `no file ${file}`;
  }
  try {
    await access(file, constants.X_OK);
  } catch {
    return `${file} is not executable (chmod +x it)`;
  }
  return undefined;
}

function readBoolean(problems: ProblemList, map: YamlMap, fieldPath: FieldPath, key: string, fallback: boolean): boolean | undefined {
  if (!hasField(map, key)) return fallback;
  const value = map[key];
  if (typeof value === 'boolean') return value;
  problems.add([...fieldPath, key], `must be true or false (got ${describeValue(value)})`);
  return undefined;
}

function readStringList(problems: ProblemList, map: YamlMap, fieldPath: FieldPath, key: string): string[] | undefined {
  if (!hasField(map, key)) return [];
  const value = map[key];
  const listPath = [...fieldPath, key];
  if (!Array.isArray(value)) {
    problems.add(listPath, `must be a list of strings (got ${describeValue(value)})`);
    return undefined;
  }
  const out: string[] = [];
  for (const [index, item] of value.entries()) {
    // A process argument cannot hold NUL; numbers would be a YAML typing surprise (`- 08`).
    if (typeof item !== 'string' || item.includes('\0')) {
      problems.add([...listPath, String(index)], `must be a string without NUL characters (got ${describeValue(item)})`);
      return undefined;
    }
    out.push(item);
  }
  return out;
}

/**
 * `customRuntimeConfig: { command: [...], args: [...], webServerMode: true }`, for
 * `runtime: custom` only. Without `command`, FC runs the executable `bootstrap` in codeUri.
 * A command with a "/" is resolved against codeUri and must be executable now; a bare name is
 * looked up in PATH when the instance starts.
 */
export async function checkCustomRuntimeConfig(
  map: YamlMap,
  fnPath: FieldPath,
  runtime: RuntimeName,
  codeDir: string | undefined,
  problems: ProblemList,
): Promise<CustomRuntimeSpec | undefined> {
  const present = hasField(map, 'customRuntimeConfig');
  const fieldPath = [...fnPath, 'customRuntimeConfig'];
  if (runtime !== RuntimeName.custom) {
    if (present) problems.add(fieldPath, `only applies to runtime: custom (this function's runtime is ${runtime})`, 'key');
    return undefined;
  }
  let config: YamlMap = {};
  if (present) {
    const checked = expectMap(problems, map['customRuntimeConfig'], fieldPath, 'custom runtime fields');
    if (checked === undefined) return undefined;
    checkKnownKeys(problems, checked, fieldPath, CUSTOM_RUNTIME_FIELDS);
    config = checked;
  }
  const before = problems.size;
  const command = readStringList(problems, config, fieldPath, 'command');
  const args = readStringList(problems, config, fieldPath, 'args');
  const webServerMode = readBoolean(problems, config, fieldPath, 'webServerMode', true);
  let port: number | undefined;
  if (hasField(config, 'port')) {
    port = readInteger(problems, config, fieldPath, 'port', CUSTOM_PORT);
    if (port === undefined) return undefined;
    if (webServerMode === false) {
      problems.add([...fieldPath, 'port'], 'only applies to web server mode (webServerMode: false starts a process per event, with no server)');
      return undefined;
    }
  }
  if (command === undefined || args === undefined || webServerMode === undefined || codeDir === undefined) return undefined;
  const withPort = <T extends object>(spec: T): T & { port?: number } => (port === undefined ? spec : { ...spec, port });
  const [program, ...rest] = command;
  if (program === undefined || program === '') {
    if (hasField(config, 'command')) {
      problems.add([...fieldPath, 'command'], 'must name a program; remove the field to run codeUri/bootstrap');
      return undefined;
    }
    const bootstrap = path.join(codeDir, DEFAULT_BOOTSTRAP);
    const problem = await checkExecutable(bootstrap);
    if (problem !== undefined) {
      problems.add(fnPath, `runtime: custom without customRuntimeConfig.command runs codeUri/${DEFAULT_BOOTSTRAP}: ${problem}`);
    }
    return problems.size > before ? undefined : withPort({ command: [bootstrap], args, webServerMode });
  }
  if (!program.includes('/')) return withPort({ command: [program, ...rest], args, webServerMode });
  const resolved = path.resolve(codeDir, program);
  const problem = await checkExecutable(resolved);
  if (problem !== undefined) {
    problems.add([...fieldPath, 'command', '0'], problem);
    return undefined;
  }
  return withPort({ command: [resolved, ...rest], args, webServerMode });
}

/**
 * `instanceLifecycleConfig.idleTimeout`, in ms: every runtime's instances are reaped when idle
 * (non-web mode's are only slots, so reaping them costs nothing). Defaults when absent; unknown
 * keys and the map itself are checked by checkLifecycle.
 */
export function checkIdleTimeout(map: YamlMap, fnPath: FieldPath, problems: ProblemList): number | undefined {
  const config = map['instanceLifecycleConfig'];
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return IDLE_TIMEOUT.default * 1000;
  const seconds = readInteger(problems, config as YamlMap, [...fnPath, 'instanceLifecycleConfig'], 'idleTimeout', IDLE_TIMEOUT);
  return seconds === undefined ? undefined : seconds * 1000;
}

/**
 * `instanceLifecycleConfig: { preStop: { handler, timeout } }`. Runs before an instance is
 * stopped: the `file.export` hook `(context, callback)` for Node.js (its file is checked with the
 * handler's, in check-template.ts), GET /pre-stop for a custom web server, a function-type 2
 * invocation for go1. Non-web mode has no instance to stop, so it is refused there rather than
 * silently ignored.
 */
export function checkLifecycle(
  map: YamlMap,
  fnPath: FieldPath,
  runtime: RuntimeName,
  custom: CustomRuntimeSpec | undefined,
  problems: ProblemList,
): LifecycleHookSpec | undefined {
  if (!hasField(map, 'instanceLifecycleConfig')) return undefined;
  const fieldPath = [...fnPath, 'instanceLifecycleConfig'];
  const config = expectMap(problems, map['instanceLifecycleConfig'], fieldPath, 'lifecycle hooks');
  if (config === undefined) return undefined;
  checkKnownKeys(problems, config, fieldPath, LIFECYCLE_FIELDS);
  if (!hasField(config, 'preStop')) return undefined;
  const hookPath = [...fieldPath, 'preStop'];
  if (runtime === RuntimeName.custom && custom?.webServerMode === false) {
    problems.add(hookPath, 'is not supported for non-web mode (webServerMode: false): a process per event has no instance to stop', 'key');
    return undefined;
  }
  const hook = expectMap(problems, config['preStop'], hookPath, 'preStop fields');
  if (hook === undefined) return undefined;
  checkKnownKeys(problems, hook, hookPath, LIFECYCLE_HOOK_FIELDS);
  const handler = readString(problems, hook, hookPath, 'handler', { maxLength: 256 });
  const timeout = readInteger(problems, hook, hookPath, 'timeout', PRE_STOP_TIMEOUT);
  if (handler === undefined || timeout === undefined) return undefined;
  if (isNodeRuntime(runtime)) {
    const parsed = parseHandler(handler);
    if (typeof parsed === 'string') {
      problems.add([...hookPath, 'handler'], parsed);
      return undefined;
    }
  }
  return { handler, timeoutMs: timeout * 1000 };
}

const ISOLATIONS: readonly string[] = Object.values(Isolation);

/**
 * `isolation`: `process` (the default) or `none` (the handler runs inside the gateway process,
 * docs/runtime-node.md §9). `none` is for Node.js runtimes only, and a function that needs its
 * own environment variables cannot have it: the gateway's `process.env` is the only one there is.
 * Returns undefined for the default, so specs without the field stay as they were.
 */
export function checkIsolation(
  map: YamlMap,
  fnPath: FieldPath,
  runtime: RuntimeName | undefined,
  environmentVariables: Readonly<Record<string, string>> | undefined,
  problems: ProblemList,
): Isolation | undefined {
  if (!hasField(map, 'isolation')) return undefined;
  const value = readString(problems, map, fnPath, 'isolation');
  if (value === undefined) return undefined;
  const field = [...fnPath, 'isolation'];
  if (!ISOLATIONS.includes(value)) {
    problems.add(field, `must be one of ${ISOLATIONS.join(', ')} (got ${describeValue(value)})`);
    return undefined;
  }
  if (value === Isolation.process) return undefined;
  if (runtime !== undefined && !isNodeRuntime(runtime)) {
    problems.add(field, `"none" runs the handler inside the gateway process, which only Node.js runtimes can do; ${runtime} functions always run in their own process`);
    return undefined;
  }
  if (environmentVariables !== undefined && Object.keys(environmentVariables).length > 0) {
    problems.add(field, '"none" shares the gateway\'s process.env, so the function cannot have its own environmentVariables; use isolation: process, or move the values into the code');
    return undefined;
  }
  return Isolation.none;
}
