/**
 * One Function Compute function (FC 2.0's `function` props, FC 3.0's `fc3` props or a Funcraft
 * `Aliyun::Serverless::Function`'s Properties) → one function of edgefc's template. Every field
 * is either carried over, or named in a message (field-map.ts says which and why).
 */
import path from 'node:path';
import { isYamlMap, type FieldPath, type YamlMap } from '../template-fields.js';
import { RuntimeName } from '../types.js';
import { DROPPED_FIELDS, FC_DEFAULT_CA_PORT, mapDestination, mapRuntime } from './field-map.js';
import type { ImportBuilder } from './import-builder.js';

export interface FunctionSource {
  map: YamlMap;
  /** Where `map` sits in the source file. */
  path: FieldPath;
  serviceName: string;
  functionName: string;
  /** FC 3.0: the edgefc service its functions go to (acs:fc:…:functions/F destinations name it). */
  fc3Service?: string;
  /** Keys of `map` the caller reads itself (a Funcraft function's name is its key). */
  skip?: readonly string[];
}

/** FC's camelCase name of a key in either case (`CodeUri` → codeUri, `CAPort` → caPort). */
export function camel(key: string): string {
  if (key === 'CAPort') return 'caPort';
  return key.charAt(0).toLowerCase() + key.slice(1);
}

/** Keys copied as they are: same name and unit in FC and edgefc. */
const SAME_FIELDS = new Set(['description', 'handler', 'memorySize', 'timeout', 'initializer', 'initializationTimeout', 'instanceConcurrency', 'environmentVariables']);
/** Read by the caller (names) or by the project converter (region). */
const CALLER_FIELDS = new Set(['name', 'functionName', 'region', 'triggers', 'events', 'type']);

export function convertFunction(builder: ImportBuilder, src: FunctionSource): void {
  const target = ['services', src.serviceName, 'functions', src.functionName];
  const service = builder.service(src.serviceName, src.path);
  const fn: YamlMap = {};
  (service['functions'] as YamlMap)[src.functionName] = fn;
  builder.origin(target, src.path);
  const put = (field: string, value: unknown, from: FieldPath): void => {
    fn[field] = value;
    builder.origin([...target, field], from);
  };
  let caPort: { value: unknown; from: FieldPath } | undefined;
  const errorsBefore = builder.errorCount;

  for (const [key, value] of Object.entries(src.map)) {
    const name = camel(key);
    const at = [...src.path, key];
    if (src.skip?.includes(key) === true || CALLER_FIELDS.has(name)) continue;
    if (SAME_FIELDS.has(name)) {
      put(name, value, at);
      continue;
    }
    switch (name) {
      case 'runtime':
        convertRuntime(builder, value, at, put);
        break;
      case 'codeUri':
      case 'code':
        convertCode(builder, value, at, put);
        break;
      case 'caPort':
        caPort = { value, from: at };
        break;
      case 'customRuntimeConfig':
        convertCustomRuntime(builder, value, at, put);
        break;
      case 'instanceLifecycleConfig':
        convertLifecycle(builder, value, at, put);
        break;
      case 'asyncConfiguration':
      case 'asyncInvokeConfig':
        convertAsync(builder, value, at, put, src.fc3Service);
        break;
      case 'logConfig':
        convertLogConfig(builder, service, value, at, ['services', src.serviceName]);
        break;
      case 'provisionConfig':
        convertProvision(builder, value, at, put);
        break;
      default: {
        const dropped = DROPPED_FIELDS[name];
        if (dropped !== undefined) builder.messages.push({ severity: dropped.severity, source: at, reason: dropped.reason });
        else builder.warn(at, 'not a Function Compute function field this converter knows: ignored');
      }
    }
  }
  if (fn['runtime'] === RuntimeName.custom) defaultPort(builder, fn, caPort, target, src.path);
  else if (caPort !== undefined) builder.warn(caPort.from, 'caPort only means something for a custom runtime: ignored');
  // A function that cannot run here is left out, so edgefc's checks add no echo of the error ("runtime is required").
  if (builder.errorCount > errorsBefore) delete (service['functions'] as YamlMap)[src.functionName];
}

type Put = (field: string, value: unknown, from: FieldPath) => void;

function convertRuntime(builder: ImportBuilder, value: unknown, at: FieldPath, put: Put): void {
  if (typeof value !== 'string') {
    put('runtime', value, at); // the template check reports the wrong type at this line
    return;
  }
  const mapped = mapRuntime(value);
  if ('error' in mapped) {
    builder.error(at, mapped.error);
    return;
  }
  put('runtime', mapped.runtime, at);
  if (mapped.note !== undefined) builder.info(at, mapped.note);
}

function convertCode(builder: ImportBuilder, value: unknown, at: FieldPath, put: Put): void {
  // FC 2.0 also takes `codeUri: {src, excludes}`; FC 3.0 `code: {ossBucketName, ossObjectName}`.
  const dir = isYamlMap(value) ? value['src'] : value;
  if (typeof dir !== 'string') {
    builder.error(at, 'code in OSS (or not a path) is not fetched: download it into a directory and set codeUri to it');
    return;
  }
  if (/\.(zip|jar|war)$/i.test(dir)) {
    builder.error(at, `${JSON.stringify(dir)} is an archive: unpack it into a directory and point codeUri there (edgefc runs code from a directory)`);
    return;
  }
  const rebased = path.relative(builder.targetDir, path.resolve(builder.sourceDir, dir)) || '.';
  put('codeUri', rebased.startsWith('.') || path.isAbsolute(rebased) ? rebased : `./${rebased}`, at);
  if (isYamlMap(value) && value['excludes'] !== undefined) builder.warn([...at, 'excludes'], 'excludes: list these paths in .edgefcignore beside the template instead (edgefc deploy reads it)');
}

/**
 * fc3's `provisionConfig.defaultTarget` is the number of instances FC keeps warm: edgefc's
 * `minInstances` (lifecycle.md §1a). Its schedules and tracking policies change the target over
 * time against cloud metrics: warned and dropped.
 */
function convertProvision(builder: ImportBuilder, value: unknown, at: FieldPath, put: Put): void {
  if (!isYamlMap(value)) {
    builder.warn(at, 'provisionConfig is not a mapping: ignored');
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const name = camel(key);
    if (name === 'defaultTarget' || name === 'target') put('minInstances', item, [...at, key]);
    else if (name === 'scheduledActions' || name === 'targetTrackingPolicies') builder.warn([...at, key], 'scheduled and metric-driven targets are not converted: the box keeps minInstances warm at all times');
    else if (name === 'alwaysAllocateCPU' || name === 'alwaysAllocateGPU') builder.info([...at, key], 'warm instances here are ordinary processes: they always have the CPU the box gives them');
    else builder.warn([...at, key], 'not a provisionConfig field edgefc knows: ignored');
  }
}

function convertCustomRuntime(builder: ImportBuilder, value: unknown, at: FieldPath, put: Put): void {
  if (!isYamlMap(value)) {
    put('customRuntimeConfig', value, at);
    return;
  }
  const out: YamlMap = {};
  for (const [key, item] of Object.entries(value)) {
    const name = camel(key);
    if (name === 'command' || name === 'args' || name === 'port') out[name] = item;
    else if (name === 'healthCheckConfig') builder.warn([...at, key], DROPPED_FIELDS['customHealthCheckConfig']?.reason ?? 'ignored');
    else builder.warn([...at, key], 'not a customRuntimeConfig field edgefc knows: ignored');
  }
  put('customRuntimeConfig', out, at);
}

function defaultPort(builder: ImportBuilder, fn: YamlMap, caPort: { value: unknown; from: FieldPath } | undefined, target: FieldPath, fnPath: FieldPath): void {
  const config = isYamlMap(fn['customRuntimeConfig']) ? fn['customRuntimeConfig'] : {};
  if (config['port'] !== undefined) return;
  fn['customRuntimeConfig'] = { ...config, port: caPort?.value ?? FC_DEFAULT_CA_PORT };
  builder.origin([...target, 'customRuntimeConfig'], caPort?.from ?? fnPath);
  if (caPort === undefined) {
    builder.info(fnPath, `customRuntimeConfig.port: ${FC_DEFAULT_CA_PORT}, FC's default, as the server may hard-code it (FC_SERVER_PORT carries it too; each instance gets its own network namespace where the box allows)`);
  }
}

function convertLifecycle(builder: ImportBuilder, value: unknown, at: FieldPath, put: Put): void {
  if (!isYamlMap(value)) {
    put('instanceLifecycleConfig', value, at);
    return;
  }
  const out: YamlMap = {};
  for (const [key, hook] of Object.entries(value)) {
    const name = camel(key);
    const hookAt = [...at, key];
    if (name === 'preFreeze') {
      builder.warn(hookAt, 'preFreeze: instances are never frozen on an edge box, so the hook is not called');
      continue;
    }
    if (name !== 'preStop' && name !== 'initializer') {
      builder.warn(hookAt, 'not a lifecycle hook edgefc knows: ignored');
      continue;
    }
    const handler = isYamlMap(hook) ? hook['handler'] ?? hook['Handler'] : undefined;
    const timeout = isYamlMap(hook) ? hook['timeout'] ?? hook['Timeout'] : undefined;
    if (name === 'initializer') {
      // FC 3.0 moved the initializer here; edgefc keeps FC 2.0's two fields.
      if (handler !== undefined) put('initializer', handler, hookAt);
      if (timeout !== undefined) put('initializationTimeout', timeout, hookAt);
      continue;
    }
    out['preStop'] = { ...(handler === undefined ? {} : { handler }), ...(timeout === undefined ? {} : { timeout }) };
  }
  if (Object.keys(out).length > 0) put('instanceLifecycleConfig', out, at);
}

function convertAsync(builder: ImportBuilder, value: unknown, at: FieldPath, put: Put, fc3Service: string | undefined): void {
  if (!isYamlMap(value)) {
    put('asyncConfiguration', value, at);
    return;
  }
  const out: YamlMap = {};
  const destinations: YamlMap = {};
  const addDestination = (which: string, arn: unknown, arnAt: FieldPath): void => {
    if (typeof arn !== 'string') {
      builder.warn(arnAt, 'not a destination ARN: dropped');
      return;
    }
    const mapped = mapDestination(arn, fc3Service);
    if ('dropped' in mapped) {
      builder.warn(arnAt, mapped.dropped);
      return;
    }
    destinations[which] = { destination: mapped.uri };
    builder.info(arnAt, `becomes ${mapped.uri}${mapped.note === undefined ? '' : `; ${mapped.note}`}`);
  };
  for (const [key, item] of Object.entries(value)) {
    const name = camel(key);
    const itemAt = [...at, key];
    if (name === 'maxAsyncRetryAttempts' || name === 'maxAsyncEventAgeInSeconds') out[name] = item;
    else if ((name === 'destination' || name === 'destinationConfig') && isYamlMap(item)) {
      for (const [which, dest] of Object.entries(item)) {
        const w = camel(which);
        if (w !== 'onSuccess' && w !== 'onFailure') {
          builder.warn([...itemAt, which], 'not onSuccess or onFailure: ignored');
          continue;
        }
        // FC 2.0 s.yaml: `onSuccess: ARN`; the API and FC 3.0: `onSuccess: {destination: ARN}`.
        const arn = isYamlMap(dest) ? dest['destination'] ?? dest['Destination'] : dest;
        addDestination(w, arn, isYamlMap(dest) ? [...itemAt, which, 'destination'] : [...itemAt, which]);
      }
    } else if (name === 'statefulInvocation' || name === 'asyncTask') {
      builder.info(itemAt, 'every Async call is a task with a record on edgefc (edgefc invocations list / stop): nothing to switch on');
    } else builder.warn(itemAt, 'not an async configuration field edgefc knows: ignored');
  }
  if (Object.keys(destinations).length > 0) out['destinationConfig'] = destinations;
  put('asyncConfiguration', out, at);
}

/** A log project and store become the service's logProject / logStore (context.service reports them). */
export function convertLogConfig(builder: ImportBuilder, service: YamlMap, value: unknown, at: FieldPath, serviceTarget: FieldPath): void {
  const project = isYamlMap(value) ? value['project'] ?? value['Project'] : undefined;
  const store = isYamlMap(value) ? value['logstore'] ?? value['Logstore'] ?? value['LogStore'] : undefined;
  if (typeof project === 'string' && typeof store === 'string' && service['logProject'] === undefined) {
    service['logProject'] = project;
    service['logStore'] = store;
    builder.origin([...serviceTarget, 'logProject'], at);
    builder.origin([...serviceTarget, 'logStore'], at);
    builder.info(at, "project and logstore become the service's logProject / logStore (context.service reports them); logs stay on the box (edgefc logs)");
    return;
  }
  builder.warn(at, 'Simple Log Service is a cloud resource: function logs stay on the box (edgefc logs, docs/logs.md)');
}
