/**
 * `asyncConfiguration` and `triggers` of a function (docs/protocol.md §10, §11), and the
 * template-wide check that destinations and triggers cannot form a loop. Problems are recorded,
 * never thrown (check-template.ts).
 */
import { nameProblem } from 'edgefc/protocol';
import { topicMatches, topicNameProblem, triggerFilterProblem } from 'edgefc/protocol';
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
  ASYNC_CONFIG_FIELDS,
  ASYNC_LIMITS,
  DESTINATION_CONFIG_FIELDS,
  DESTINATION_FIELDS,
  MAX_TRIGGERS,
  TRIGGER_FIELDS,
} from './template-schema.js';
import type { AsyncConfigSpec, DestinationSpec, FunctionSpec, TriggerSpec } from './types.js';

/** undefined when the field is absent (the defaults apply) or wrong (a problem was recorded). */
export function checkAsyncConfiguration(map: YamlMap, fnPath: FieldPath, problems: ProblemList): AsyncConfigSpec | undefined {
  if (!hasField(map, 'asyncConfiguration')) return undefined;
  const path = [...fnPath, 'asyncConfiguration'];
  const config = expectMap(problems, map['asyncConfiguration'], path, 'async settings');
  if (config === undefined) return undefined;
  checkKnownKeys(problems, config, path, ASYNC_CONFIG_FIELDS);
  const retries = readInteger(problems, config, path, 'maxAsyncRetryAttempts', ASYNC_LIMITS.maxAsyncRetryAttempts);
  const age = readInteger(problems, config, path, 'maxAsyncEventAgeInSeconds', ASYNC_LIMITS.maxAsyncEventAgeInSeconds);
  const queue = readInteger(problems, config, path, 'maxAsyncQueueLength', ASYNC_LIMITS.maxAsyncQueueLength);
  let onSuccess: DestinationSpec | undefined;
  let onFailure: DestinationSpec | undefined;
  if (hasField(config, 'destinationConfig')) {
    const destPath = [...path, 'destinationConfig'];
    const dests = expectMap(problems, config['destinationConfig'], destPath, 'onSuccess / onFailure');
    if (dests !== undefined) {
      checkKnownKeys(problems, dests, destPath, DESTINATION_CONFIG_FIELDS);
      onSuccess = checkDestination(dests, destPath, 'onSuccess', problems);
      onFailure = checkDestination(dests, destPath, 'onFailure', problems);
    }
  }
  if (retries === undefined || age === undefined || queue === undefined) return undefined;
  return { maxAsyncRetryAttempts: retries, maxAsyncEventAgeMs: age * 1000, maxAsyncQueueLength: queue, onSuccess, onFailure };
}

function checkDestination(map: YamlMap, path: FieldPath, key: 'onSuccess' | 'onFailure', problems: ProblemList): DestinationSpec | undefined {
  if (!hasField(map, key)) return undefined;
  const fieldPath = [...path, key];
  const dest = expectMap(problems, map[key], fieldPath, '"destination"');
  if (dest === undefined) return undefined;
  checkKnownKeys(problems, dest, fieldPath, DESTINATION_FIELDS);
  const uri = readString(problems, dest, fieldPath, 'destination');
  if (uri === undefined) return undefined;
  const parsed = parseDestination(uri);
  if (typeof parsed === 'string') {
    problems.add([...fieldPath, 'destination'], parsed);
    return undefined;
  }
  return parsed;
}

/** `mqtt://<topic>` or `fc://<Service>/<Function>` (docs/protocol.md §10.5); a string is the problem. */
export function parseDestination(uri: string): DestinationSpec | string {
  if (uri.startsWith('mqtt://')) {
    const topic = uri.slice('mqtt://'.length);
    const problem = topicNameProblem(topic);
    return problem === undefined ? { kind: 'mqtt', uri, topic } : `the topic of ${JSON.stringify(uri)} ${problem}`;
  }
  if (uri.startsWith('fc://')) {
    const parts = uri.slice('fc://'.length).split('/');
    const [serviceName, functionName] = parts;
    if (parts.length !== 2 || serviceName === undefined || functionName === undefined) {
      return `${JSON.stringify(uri)} must be fc://SERVICE/FUNCTION`;
    }
    const problem = nameProblem(serviceName) ?? nameProblem(functionName);
    if (problem !== undefined) return `${JSON.stringify(uri)}: a name ${problem}`;
    return { kind: 'fc', uri, serviceName, functionName };
  }
  return `${JSON.stringify(uri)} must be mqtt://TOPIC or fc://SERVICE/FUNCTION`;
}

export function checkTriggers(map: YamlMap, fnPath: FieldPath, problems: ProblemList): TriggerSpec[] | undefined {
  if (!hasField(map, 'triggers')) return undefined;
  const path = [...fnPath, 'triggers'];
  const list = map['triggers'];
  if (!Array.isArray(list)) {
    problems.add(path, `must be a list of triggers (got ${describeValue(list)})`);
    return undefined;
  }
  if (list.length > MAX_TRIGGERS) problems.add(path, `at most ${MAX_TRIGGERS} triggers per function (got ${list.length})`);
  const triggers: TriggerSpec[] = [];
  for (const [index, item] of list.entries()) {
    const itemPath = [...path, String(index)];
    const trigger = expectMap(problems, item, itemPath, 'trigger fields (name, type, topic)');
    if (trigger === undefined) continue;
    checkKnownKeys(problems, trigger, itemPath, TRIGGER_FIELDS);
    const type = readString(problems, trigger, itemPath, 'type', { default: 'mqtt' });
    if (type !== undefined && type !== 'mqtt') problems.add([...itemPath, 'type'], `trigger type ${JSON.stringify(type)} is not supported; supported: mqtt`);
    const topic = readString(problems, trigger, itemPath, 'topic');
    if (topic === undefined) continue;
    const problem = triggerFilterProblem(topic);
    if (problem !== undefined) {
      problems.add([...itemPath, 'topic'], `topic filter ${JSON.stringify(topic)} ${problem}`);
      continue;
    }
    const name = readString(problems, trigger, itemPath, 'name', { default: topic, maxLength: 128 });
    if (name !== undefined) triggers.push({ name, type: 'mqtt', topic });
  }
  return triggers;
}

/**
 * Across the whole template: every fc:// destination names a function that exists, and no chain
 * of destinations and triggers leads a function's outcome back to itself (§11.3): such a loop
 * would invoke it forever.
 */
export function checkAsyncGraph(functions: readonly FunctionSpec[], problems: ProblemList): void {
  const key = (s: string, f: string): string => `${s}/${f}`;
  const byKey = new Map(functions.map((fn) => [key(fn.serviceName, fn.name), fn]));
  const edges = new Map<string, string[]>();
  for (const fn of functions) {
    const from = key(fn.serviceName, fn.name);
    const targets: string[] = [];
    for (const which of ['onSuccess', 'onFailure'] as const) {
      const dest = fn.asyncConfiguration?.[which];
      if (dest === undefined) continue;
      const path = ['services', fn.serviceName, 'functions', fn.name, 'asyncConfiguration', 'destinationConfig', which, 'destination'];
      if (dest.kind === 'fc') {
        const to = key(dest.serviceName, dest.functionName);
        if (!byKey.has(to)) problems.add(path, `${dest.uri} names no function of this template`);
        else targets.push(to);
      } else {
        for (const other of functions) {
          if (other.triggers?.some((t) => topicMatches(t.topic, dest.topic)) === true) targets.push(key(other.serviceName, other.name));
        }
      }
    }
    edges.set(from, targets);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (node: string, trail: string[]): string[] | undefined => {
    if (state.get(node) === 'visiting') return [...trail.slice(trail.indexOf(node)), node];
    if (state.get(node) === 'done') return undefined;
    state.set(node, 'visiting');
    for (const next of edges.get(node) ?? []) {
      const loop = visit(next, [...trail, node]);
      if (loop !== undefined) return loop;
    }
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    const loop = visit(node, []);
    if (loop === undefined) continue;
    const [service = '', fnName = ''] = (loop[0] ?? '').split('/');
    problems.add(
      ['services', service, 'functions', fnName, 'asyncConfiguration'],
      `destinations and triggers form a loop: ${loop.join(' -> ')}; each outcome would invoke the chain again (§11.3)`,
    );
    return;
  }
}
