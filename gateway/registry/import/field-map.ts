/**
 * The one table of what each Function Compute field becomes on an edge box, shared by the
 * Serverless Devs and Funcraft converters (docs/import.md shows the same table). Field names are
 * FC's camelCase; Funcraft's PascalCase names are matched by `fieldOf` (Handler = handler).
 */
import { RuntimeName } from '../types.js';
import { isYamlMap, type YamlMap } from '../template-fields.js';
import { ImportSeverity } from './import-messages.js';

/** The value and the key as written, whichever case the file uses (`codeUri` or `CodeUri`). */
export function fieldOf(map: YamlMap, name: string): { key: string; value: unknown } | undefined {
  const pascal = name.charAt(0).toUpperCase() + name.slice(1);
  for (const key of [name, pascal]) {
    if (Object.prototype.hasOwnProperty.call(map, key)) return { key, value: map[key] };
  }
  return undefined;
}

export type RuntimeMapping = { runtime: RuntimeName; note?: string } | { error: string };

/** FC runtime names → ours (gateway/runtime/runtime-registry.ts has what this gateway runs). */
export function mapRuntime(name: string): RuntimeMapping {
  if (name === 'nodejs20' || name === 'nodejs18') return { runtime: name };
  if (/^nodejs\d+$/.test(name)) {
    return { runtime: RuntimeName.nodejs20, note: `runs as nodejs20: the gateway runs every Node.js function on its own Node 20 (FC's ${name} APIs are a subset)` };
  }
  if (name === 'custom' || name === 'custom.debian10' || name === 'custom.debian11' || name === 'custom.debian12') {
    return name === 'custom' ? { runtime: RuntimeName.custom } : { runtime: RuntimeName.custom, note: `runs as custom on this box's own OS, not FC's ${name.slice('custom.'.length)} image` };
  }
  if (name === 'go1') return { runtime: RuntimeName.go1 };
  if (name === 'custom-container') {
    return { error: 'custom-container runs a container image, which edgefc does not: build the server into codeUri and use runtime custom' };
  }
  return { error: `runtime ${JSON.stringify(name)} has no edgefc equivalent (supported: nodejs*, custom, custom.debian*, go1): the function cannot run here` };
}

/** FC's default custom-runtime port (CAPort): a server written for FC may hard-code it. */
export const FC_DEFAULT_CA_PORT = 9000;

interface DroppedField {
  severity: ImportSeverity;
  reason: string;
}

const CLOUD_ONLY = 'a cloud resource that does not exist on an edge box';

/**
 * Fields with no meaning on an edge box, service or function level alike. Warnings: the
 * function runs without them. Errors: its code or packaging depends on them.
 */
export const DROPPED_FIELDS: Readonly<Record<string, DroppedField>> = {
  role: { severity: 'warning', reason: 'RAM role: no RAM on an edge box; context.credentials come from EDGEFC_ACCESS_KEY_ID / the template credentials instead' },
  policies: { severity: 'warning', reason: 'RAM policies: no RAM on an edge box' },
  internetAccess: { severity: 'warning', reason: "internet access is whatever the box's network allows; edgefc does not switch it" },
  vpcConfig: { severity: 'warning', reason: `VPC: ${CLOUD_ONLY}; functions use the box's network` },
  nasConfig: { severity: 'warning', reason: `NAS mount: ${CLOUD_ONLY}; mount the share on the box yourself if the code reads it` },
  ossMountConfig: { severity: 'warning', reason: `OSS mount: ${CLOUD_ONLY}; mount it on the box yourself if the code reads it` },
  tracingConfig: { severity: 'warning', reason: 'Tracing Analysis: edgefc has its own tracing (trace export in docs/operations.md)' },
  tags: { severity: 'warning', reason: 'resource tags: nothing to tag on an edge box' },
  instanceType: { severity: 'warning', reason: "instance type: every instance is a process on this box; memorySize still caps a Node instance's heap" },
  cpu: { severity: 'warning', reason: 'vCPU share: instances share the box\'s CPUs; there is no per-function CPU quota' },
  diskSize: { severity: 'warning', reason: 'disk size: instances use the box\'s disk' },
  gpuMemorySize: { severity: 'warning', reason: 'GPU: edgefc gives functions no GPU' },
  gpuConfig: { severity: 'warning', reason: 'GPU: edgefc gives functions no GPU' },
  layers: { severity: 'warning', reason: 'layers are not fetched: copy what the code needs from its layers into codeUri (node_modules for Node.js)' },
  layer: { severity: 'warning', reason: 'layers are not fetched: copy what the code needs from its layers into codeUri (node_modules for Node.js)' },
  customDNS: { severity: 'warning', reason: "custom DNS: instances use the box's resolver" },
  customHealthCheckConfig: { severity: 'warning', reason: 'health checks: the gateway watches its instances itself (start timeout, exit)' },
  disableOndemand: { severity: 'warning', reason: 'on-demand switch: every function runs on demand' },
  sessionAffinity: { severity: 'warning', reason: 'session affinity: calls go to any idle instance' },
  customDomain: { severity: 'warning', reason: 'a custom domain (fc3): no HTTP front door on an edge box; callers use the gateway (SDK invokeFunction, edgefc invoke)' },
  concurrencyConfig: { severity: 'warning', reason: "reserved concurrency is not converted: edgefc's maxInstances and instanceConcurrency bound a function's calls" },
  vpcBinding: { severity: 'warning', reason: `VPC binding: ${CLOUD_ONLY}` },
  customDomains: { severity: 'warning', reason: 'custom domains: no HTTP front door on an edge box; callers use the gateway (SDK invokeFunction, edgefc invoke)' },
  accelerationType: { severity: 'warning', reason: 'image acceleration: no images here' },
  ossBucket: { severity: 'error', reason: 'code in OSS is not fetched: download it into a directory and set codeUri to it' },
  ossKey: { severity: 'error', reason: 'code in OSS is not fetched: download it into a directory and set codeUri to it' },
  customContainerConfig: { severity: 'error', reason: 'a container image is not run by edgefc: build the server into codeUri and use runtime custom' },
};

/** Field names carried to edgefc's template, plus names read for their meaning (name, runtime). */
export const HANDLED_FUNCTION_FIELDS = [
  'name', 'functionName', 'description', 'runtime', 'handler', 'codeUri', 'code', 'memorySize', 'timeout',
  'initializer', 'initializationTimeout', 'instanceConcurrency', 'environmentVariables', 'customRuntimeConfig',
  'caPort', 'instanceLifecycleConfig', 'asyncConfiguration', 'asyncInvokeConfig', 'triggers', 'region', 'logConfig',
] as const;

/** What a trigger of each FC type would have done, and why nothing does it here. */
export function triggerReason(type: string, config: unknown): string {
  const t = type.toLowerCase();
  if (t === 'http') {
    const auth = isYamlMap(config) ? fieldOf(config, 'authType')?.value : undefined;
    const anonymous = typeof auth === 'string' && auth.toLowerCase() === 'anonymous';
    return (
      'an HTTP trigger has no edgefc equivalent yet: nothing listens for HTTP; callers use the gateway (SDK invokeFunction, edgefc invoke)' +
      (anonymous ? '. It was anonymous on FC; here the function keeps edgefc\'s default invokers (devices may not call it): add `invokers: [devices]` if devices should' : '')
    );
  }
  if (t === 'timer') {
    const cron = isYamlMap(config) ? fieldOf(config, 'cronExpression')?.value : undefined;
    return `a timer trigger has no edgefc equivalent: nothing calls the function on a schedule${typeof cron === 'string' ? ` (${cron})` : ''}; run \`edgefc invoke\` from the box's cron instead`;
  }
  return `a trigger of type ${type} has no edgefc equivalent: its event source is ${CLOUD_ONLY}, so nothing calls the function from it`;
}

export type DestinationMapping = { uri: string; note?: string } | { dropped: string };

/**
 * An FC destination ARN → edgefc's destination URI. FC 2.0:
 * `acs:fc:REGION:UID:services/SERVICE[.QUALIFIER]/functions/FUNCTION`; FC 3.0:
 * `acs:fc:REGION:UID:functions/FUNCTION[:QUALIFIER]` (then `fc3Service` names its edgefc service).
 */
export function mapDestination(arn: string, fc3Service: string | undefined): DestinationMapping {
  const v2 = /^acs:fc:[^:]*:[^:]*:services\/([^/.]+)(?:\.([^/]+))?\/functions\/([^/]+)$/.exec(arn);
  if (v2 !== null) {
    const [, service = '', qualifier, fn = ''] = v2;
    return { uri: `fc://${service}/${fn}`, ...(qualifier === undefined || qualifier === 'LATEST' ? {} : { note: `qualifier ${qualifier} dropped: the destination calls the function's LATEST` }) };
  }
  const v3 = /^acs:fc:[^:]*:[^:]*:functions\/([^/:]+)(?::(.+))?$/.exec(arn);
  if (v3 !== null && fc3Service !== undefined) {
    const [, fn = '', qualifier] = v3;
    return { uri: `fc://${fc3Service}/${fn}`, ...(qualifier === undefined || qualifier === 'LATEST' ? {} : { note: `qualifier ${qualifier} dropped: the destination calls the function's LATEST` }) };
  }
  if (arn.startsWith('acs:mns:')) return { dropped: 'an MNS queue or topic destination is a cloud resource: dropped (an mqtt:// destination can take its place)' };
  if (arn.startsWith('acs:eventbridge:')) return { dropped: 'an EventBridge destination is a cloud resource: dropped (an mqtt:// destination can take its place)' };
  return { dropped: `destination ${JSON.stringify(arn)} is not a Function Compute function ARN: dropped` };
}
