/**
 * Checks the parsed template field by field and converts it to the registry's types. Every
 * problem is recorded, none thrown, so the caller can report them all at once.
 */
import { checkInvokers } from './check-invokers.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { nameProblem } from 'edgefc/protocol';
import {
  checkCustomRuntimeConfig,
  checkExecutableHandler,
  checkIdleTimeout,
  checkIsolation,
  checkLifecycle,
  isNodeRuntime,
  runtimeProblem,
} from './check-runtime-fields.js';
import { checkAsyncConfiguration, checkAsyncGraph, checkTriggers } from './check-async-fields.js';
import { parseHandler, resolveHandlerFile, type HandlerRef } from './handler-ref.js';
import {
  checkKnownKeys,
  describeValue,
  expectMap,
  hasField,
  isYamlMap,
  readInteger,
  readString,
  type FieldPath,
  type ProblemList,
  type YamlMap,
} from './template-fields.js';
import {
  CREDENTIAL_ENV,
  CREDENTIAL_FIELDS,
  DEFAULT_ACCOUNT_ID,
  DEFAULT_REGION,
  ENV_NAME,
  FUNCTION_FIELDS,
  FUNCTION_LIMITS,
  ROOT_FIELDS,
  SERVICE_FIELDS,
  SERVICE_QUALIFIER,
  SERVICE_VERSION_ID,
  TEMPLATE_VERSION,
} from './template-schema.js';
import type { TemplateSource } from './template-source.js';
import { RuntimeName, type FunctionSpec, type GatewayIdentity, type ServiceSpec, type Template } from './types.js';

const SUPPORTED_RUNTIMES: readonly string[] = Object.values(RuntimeName);

export interface CheckContext {
  problems: ProblemList;
  source: TemplateSource;
  templateDir: string;
  env: NodeJS.ProcessEnv;
  absPath: string;
}

export async function checkTemplate(raw: unknown, ctx: CheckContext): Promise<Template | undefined> {
  const { problems } = ctx;
  if (raw === null || raw === undefined) {
    problems.add([], `the template is empty; it needs at least "edgefc: ${TEMPLATE_VERSION}" and "services"`);
    return undefined;
  }
  if (!isYamlMap(raw)) {
    problems.add([], `the template must be a YAML map of fields (got ${describeValue(raw)})`);
    return undefined;
  }

  // The version comes first: under another version the other fields may mean something else,
  // so their problems would only be noise.
  if (!hasField(raw, 'edgefc')) {
    problems.add([], `missing required field "edgefc" (the template format version); add "edgefc: ${TEMPLATE_VERSION}"`);
    return undefined;
  }
  if (raw['edgefc'] !== TEMPLATE_VERSION) {
    problems.add(['edgefc'], `unknown template format version ${describeValue(raw['edgefc'])}; this gateway reads version ${TEMPLATE_VERSION}`);
    return undefined;
  }

  checkKnownKeys(problems, raw, [], ROOT_FIELDS);
  const identity = checkIdentity(raw, ctx);

  const services: ServiceSpec[] = [];
  const functions: FunctionSpec[] = [];
  if (!hasField(raw, 'services')) {
    problems.add([], 'missing required field "services"', 'key');
  } else {
    const serviceMap = expectMap(problems, raw['services'], ['services'], 'services by name');
    if (serviceMap !== undefined && Object.keys(serviceMap).length === 0) {
      problems.add(['services'], 'must name at least one service');
    }
    for (const [name, value] of Object.entries(serviceMap ?? {})) {
      const checked = await checkService(name, value, ctx);
      if (checked === undefined) continue;
      services.push(checked.service);
      functions.push(...checked.functions);
    }
  }

  if (problems.size === 0) checkAsyncGraph(functions, problems);
  if (identity === undefined || problems.size > 0) return undefined;
  return { path: ctx.absPath, identity, services, functions };
}

function checkIdentity(raw: YamlMap, ctx: CheckContext): GatewayIdentity | undefined {
  const { problems } = ctx;
  const before = problems.size;
  // A bare number would lose digits: 16-digit account IDs pass 2^53.
  const quoteHint = 'quote it, e.g. accountId: \'1234567890\'';
  const region = readString(problems, raw, [], 'region', { default: DEFAULT_REGION, maxLength: 128 });
  const accountId = readString(problems, raw, [], 'accountId', { default: DEFAULT_ACCOUNT_ID, maxLength: 128, quoteHint });

  const fromFile: Record<(typeof CREDENTIAL_FIELDS)[number], string> = { accessKeyId: '', accessKeySecret: '', securityToken: '' };
  if (hasField(raw, 'credentials')) {
    const map = expectMap(problems, raw['credentials'], ['credentials'], 'credential fields');
    if (map !== undefined) {
      checkKnownKeys(problems, map, ['credentials'], CREDENTIAL_FIELDS);
      for (const field of CREDENTIAL_FIELDS) {
        const value = readString(problems, map, ['credentials'], field, { default: '', allowEmpty: true, maxLength: 4096 });
        if (value !== undefined) fromFile[field] = value;
      }
    }
  }
  const credentials = { ...fromFile };
  for (const field of CREDENTIAL_FIELDS) {
    const override = ctx.env[CREDENTIAL_ENV[field]];
    if (override !== undefined && override !== '') credentials[field] = override;
  }

  if (problems.size > before || region === undefined || accountId === undefined) return undefined;
  return { region, accountId, credentials };
}

async function checkService(
  name: string,
  value: unknown,
  ctx: CheckContext,
): Promise<{ service: ServiceSpec; functions: FunctionSpec[] } | undefined> {
  const { problems } = ctx;
  const before = problems.size;
  const servicePath = ['services', name];
  const badName = nameProblem(name);
  if (badName !== undefined) problems.add(servicePath, `invalid service name: ${badName}`, 'key');

  const map = expectMap(problems, value, servicePath, 'service fields');
  if (map === undefined) return undefined;
  checkKnownKeys(problems, map, servicePath, SERVICE_FIELDS);
  const text = { default: '', allowEmpty: true };
  const description = readString(problems, map, servicePath, 'description', text);
  const logProject = readString(problems, map, servicePath, 'logProject', text);
  const logStore = readString(problems, map, servicePath, 'logStore', text);

  const functions: FunctionSpec[] = [];
  const functionsPath = [...servicePath, 'functions'];
  if (!hasField(map, 'functions')) {
    problems.add(servicePath, 'missing required field "functions"', 'key');
  } else {
    const fnMap = expectMap(problems, map['functions'], functionsPath, 'functions by name');
    if (fnMap !== undefined && Object.keys(fnMap).length === 0) {
      problems.add(functionsPath, 'must name at least one function');
    }
    for (const [fnName, fnValue] of Object.entries(fnMap ?? {})) {
      const fn = await checkFunction(name, fnName, fnValue, ctx);
      if (fn !== undefined) functions.push(fn);
    }
  }

  if (problems.size > before || description === undefined || logProject === undefined || logStore === undefined) {
    return undefined;
  }
  const service: ServiceSpec = {
    name,
    description,
    logProject,
    logStore,
    qualifier: SERVICE_QUALIFIER,
    versionId: SERVICE_VERSION_ID,
  };
  return { service, functions };
}

async function checkFunction(serviceName: string, name: string, value: unknown, ctx: CheckContext): Promise<FunctionSpec | undefined> {
  const { problems } = ctx;
  const before = problems.size;
  const fnPath = ['services', serviceName, 'functions', name];
  const badName = nameProblem(name);
  if (badName !== undefined) problems.add(fnPath, `invalid function name: ${badName}`, 'key');

  const map = expectMap(problems, value, fnPath, 'function fields');
  if (map === undefined) return undefined;
  checkKnownKeys(problems, map, fnPath, FUNCTION_FIELDS);

  const runtime = checkRuntime(map, fnPath, problems);
  // Node.js handlers are `file.export`; custom runtimes get the string as a header, go1 names
  // an executable (checked below, once codeUri is known).
  // With an unknown runtime the handler's meaning is unknown too: only the runtime is reported.
  const nodeStyle = runtime !== undefined && isNodeRuntime(runtime);
  const handler = checkHandlerString(map, fnPath, 'handler', problems, nodeStyle);
  const initializer = hasField(map, 'initializer')
    ? checkHandlerString(map, fnPath, 'initializer', problems, nodeStyle)
    : undefined;
  const codeUri = readString(problems, map, fnPath, 'codeUri');
  const memorySizeMB = readInteger(problems, map, fnPath, 'memorySize', FUNCTION_LIMITS.memorySize);
  const timeout = readInteger(problems, map, fnPath, 'timeout', FUNCTION_LIMITS.timeout);
  const initializationTimeout = readInteger(problems, map, fnPath, 'initializationTimeout', FUNCTION_LIMITS.initializationTimeout);
  const instanceConcurrency = readInteger(problems, map, fnPath, 'instanceConcurrency', FUNCTION_LIMITS.instanceConcurrency);
  const maxInstances = readInteger(problems, map, fnPath, 'maxInstances', FUNCTION_LIMITS.maxInstances);
  const minInstances = readInteger(problems, map, fnPath, 'minInstances', FUNCTION_LIMITS.minInstances);
  if (minInstances !== undefined && maxInstances !== undefined && minInstances > maxInstances) {
    problems.add([...fnPath, 'minInstances'], `minInstances ${minInstances} is more than maxInstances ${maxInstances}: the provisioned instances must fit under the function's maximum`);
  }
  const maxQueueLength = readInteger(problems, map, fnPath, 'maxQueueLength', FUNCTION_LIMITS.maxQueueLength);
  const environmentVariables = checkEnvironment(map, fnPath, ctx);
  const isolation = checkIsolation(map, fnPath, runtime, environmentVariables, problems);
  const description = readString(problems, map, fnPath, 'description', { default: '', allowEmpty: true });

  let codeDir: string | undefined;
  if (codeUri !== undefined) {
    codeDir = path.resolve(ctx.templateDir, codeUri);
    if (await checkDirectory(codeDir, [...fnPath, 'codeUri'], problems)) {
      for (const [field, ref] of [['handler', handler], ['initializer', initializer]] as const) {
        if (ref?.parsed === undefined) continue;
        const found = await resolveHandlerFile(codeDir, ref.parsed);
        if ('problem' in found) problems.add([...fnPath, field], found.problem);
      }
      if (runtime === RuntimeName.go1 && handler !== undefined) {
        const problem = await checkExecutableHandler(codeDir, handler.text);
        if (problem !== undefined) problems.add([...fnPath, 'handler'], problem);
      }
    } else {
      codeDir = undefined;
    }
  }
  const customRuntimeConfig =
    runtime === undefined ? undefined : await checkCustomRuntimeConfig(map, fnPath, runtime, codeDir, problems);
  if (customRuntimeConfig?.webServerMode === false && initializer !== undefined) {
    problems.add([...fnPath, 'initializer'], 'non-web mode (webServerMode: false) starts a process per event: there is no instance to initialize');
  }
  if (customRuntimeConfig?.webServerMode === false && minInstances !== undefined && minInstances > 0) {
    problems.add([...fnPath, 'minInstances'], 'non-web mode (webServerMode: false) starts a process per event: there is no instance to keep warm');
  }
  const preStop = runtime === undefined ? undefined : checkLifecycle(map, fnPath, runtime, customRuntimeConfig, problems);
  if (preStop !== undefined && nodeStyle && codeDir !== undefined) {
    const parsed = parseHandler(preStop.handler);
    const found = typeof parsed === 'string' ? { problem: parsed } : await resolveHandlerFile(codeDir, parsed);
    if ('problem' in found) problems.add([...fnPath, 'instanceLifecycleConfig', 'preStop', 'handler'], found.problem);
  }
  const idleTimeoutMs = checkIdleTimeout(map, fnPath, problems);
  const asyncConfiguration = checkAsyncConfiguration(map, fnPath, problems);
  const triggers = checkTriggers(map, fnPath, problems);
  const invokers = checkInvokers(map, fnPath, problems);

  if (
    problems.size > before ||
    runtime === undefined ||
    handler === undefined ||
    codeDir === undefined ||
    memorySizeMB === undefined ||
    timeout === undefined ||
    initializationTimeout === undefined ||
    instanceConcurrency === undefined ||
    maxInstances === undefined ||
    maxQueueLength === undefined ||
    environmentVariables === undefined ||
    description === undefined
  ) {
    return undefined;
  }
  return {
    serviceName,
    name,
    description,
    runtime,
    handler: handler.text,
    codeDir,
    memorySizeMB,
    timeoutMs: timeout * 1000,
    initializer: initializer?.text,
    initializationTimeoutMs: initializationTimeout * 1000,
    instanceConcurrency,
    maxInstances,
    maxQueueLength,
    environmentVariables,
    ...(minInstances === undefined || minInstances === 0 ? {} : { minInstances }),
    ...(isolation === undefined ? {} : { isolation }),
    ...(customRuntimeConfig === undefined ? {} : { customRuntimeConfig }),
    ...(preStop === undefined ? {} : { preStop }),
    ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
    ...(asyncConfiguration === undefined ? {} : { asyncConfiguration }),
    ...(triggers === undefined ? {} : { triggers }),
    ...(invokers === undefined ? {} : { invokers }),
  };
}

function checkRuntime(map: YamlMap, fnPath: FieldPath, problems: ProblemList): RuntimeName | undefined {
  const value = readString(problems, map, fnPath, 'runtime');
  if (value === undefined) return undefined;
  const problem = runtimeProblem(value);
  if (problem !== undefined || !isRuntimeName(value)) {
    problems.add([...fnPath, 'runtime'], problem ?? `runtime ${JSON.stringify(value)} is not supported`);
    return undefined;
  }
  return value;
}

function isRuntimeName(value: string): value is RuntimeName {
  return SUPPORTED_RUNTIMES.includes(value);
}

function checkHandlerString(
  map: YamlMap,
  fnPath: FieldPath,
  field: 'handler' | 'initializer',
  problems: ProblemList,
  nodeStyle: boolean,
): { text: string; parsed: HandlerRef | undefined } | undefined {
  const text = readString(problems, map, fnPath, field, { maxLength: 256 });
  if (text === undefined) return undefined;
  if (!nodeStyle) return { text, parsed: undefined };
  const parsed = parseHandler(text);
  if (typeof parsed === 'string') {
    problems.add([...fnPath, field], parsed);
    return undefined;
  }
  return { text, parsed };
}

async function checkDirectory(dir: string, fieldPath: FieldPath, problems: ProblemList): Promise<boolean> {
  try {
    if ((await stat(dir)).isDirectory()) return true;
    problems.add(fieldPath, `${dir} is not a directory`);
  } catch (err) {
    const missing = typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT';
    problems.add(fieldPath, missing ? `directory ${dir} does not exist` : `cannot read ${dir}: ${String(err)}`);
  }
  return false;
}

/**
 * Values are taken as text, the way a process sees them: a string as is, a number or boolean
 * exactly as written (`PORT: 0123` gives "0123", not "123"), so YAML typing cannot change a
 * value on its way to the function. Null, lists and maps are refused.
 */
function checkEnvironment(map: YamlMap, fnPath: FieldPath, ctx: CheckContext): Readonly<Record<string, string>> | undefined {
  const { problems } = ctx;
  if (!hasField(map, 'environmentVariables')) return {};
  const envPath = [...fnPath, 'environmentVariables'];
  const envMap = expectMap(problems, map['environmentVariables'], envPath, 'variable names to values');
  if (envMap === undefined) return undefined;
  const before = problems.size;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(envMap)) {
    const keyPath = [...envPath, key];
    if (!ENV_NAME.test(key)) {
      problems.add(keyPath, 'invalid variable name: use letters, digits and "_", not starting with a digit', 'key');
      continue;
    }
    let text: string | undefined;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number' || typeof value === 'boolean') text = ctx.source.scalarText(keyPath) ?? String(value);
    if (text === undefined) {
      problems.add(keyPath, `must be a string, number or boolean (got ${describeValue(value)}); write '' for an empty value`);
      continue;
    }
    if (text.includes('\0')) {
      problems.add(keyPath, 'must not contain a NUL character (a process environment cannot hold it)');
      continue;
    }
    out[key] = text;
  }
  return problems.size > before ? undefined : out;
}
