/**
 * A Serverless Devs project file (s.yaml) → edgefc's template.
 * - edition 1.0.0, `services:` of component `fc` / `devsapp/fc` (FC 2.0): each entry's
 *   `props.service` and `props.function` become one function of that service;
 * - edition 3.0.0, `resources:` of component `fc3` (FC 3.0, no services): each entry's props
 *   are one function; all go to one edgefc service named after the project (`name`).
 * Other components (domains, layers, website…) are skipped with a message.
 */
import { isYamlMap, type FieldPath, type YamlMap } from '../template-fields.js';
import { convertFunction, convertLogConfig } from './convert-function.js';
import { convertTriggerList } from './convert-triggers.js';
import { DROPPED_FIELDS } from './field-map.js';
import type { ImportBuilder } from './import-builder.js';
import { interpolate } from './interpolate.js';

/** edgefc's service for an FC 3.0 project whose file has no usable `name`. */
export const FC3_DEFAULT_SERVICE = 'default';

export function fromServerlessDevs(raw: YamlMap, builder: ImportBuilder): void {
  // vars may use ${env(NAME, default)} themselves (Serverless Devs' own examples do).
  const vars = isYamlMap(raw['vars']) ? (interpolate(raw['vars'], {}, ['vars'], builder) as YamlMap) : {};
  const key = isYamlMap(raw['resources']) ? 'resources' : 'services';
  const projectName = typeof raw['name'] === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(raw['name']) ? raw['name'] : FC3_DEFAULT_SERVICE;
  for (const top of Object.keys(raw)) {
    if (top === 'edition' || top === 'name' || top === 'vars' || top === key) continue;
    if (top === 'access') builder.warn([top], 'the Serverless Devs credential alias is not read (nor its keys printed): a function gets credentials from the gateway (EDGEFC_ACCESS_KEY_ID …)');
    else builder.warn([top], `Serverless Devs ${top} is not run by edgefc: ignored`);
  }
  const regions = new Set<string>();
  for (const [name, project] of Object.entries(raw[key] as YamlMap)) {
    const at = [key, name];
    if (!isYamlMap(project) || !isYamlMap(project['props'])) {
      builder.warn(at, 'no props: not a Function Compute component entry; skipped');
      continue;
    }
    const props = interpolate(project['props'], vars, [...at, 'props'], builder) as YamlMap;
    const component = typeof project['component'] === 'string' ? project['component'] : '';
    for (const extra of Object.keys(project)) {
      if (extra !== 'component' && extra !== 'props') builder.warn([...at, extra], `${extra} (Serverless Devs actions/dependencies) is not run by edgefc: ignored`);
    }
    if (typeof props['region'] === 'string') regions.add(props['region']);
    if (/(^|\/)fc3(@|$)/.test(component) || (!/(^|\/)fc(@|$)/.test(component) && 'functionName' in props)) {
      fromFc3(builder, props, [...at, 'props'], name, projectName);
    } else if (/(^|\/)fc(@|$)/.test(component) || isYamlMap(props['function'])) {
      fromFc2(builder, props, [...at, 'props'], name);
    } else {
      builder.warn([...at, 'component'], `component ${JSON.stringify(component)} is not Function Compute's fc or fc3: skipped`);
    }
  }
  const [region, ...others] = regions;
  if (region !== undefined) {
    builder.template['region'] = region;
    if (others.length > 0) builder.info([], `functions name several regions; context.region reports ${region} for all (one gateway is one region)`);
  }
}

function fromFc2(builder: ImportBuilder, props: YamlMap, at: FieldPath, entryName: string): void {
  const service = isYamlMap(props['service']) ? props['service'] : {};
  const fn = props['function'];
  const serviceName = typeof service['name'] === 'string' ? service['name'] : entryName;
  // Several entries often share one service (`service: ${vars.service}`): its fields are read once.
  const seen = builder.hasService(serviceName);
  const target = builder.service(serviceName, [...at, 'service']);
  for (const [field, value] of seen ? [] : Object.entries(service)) {
    const fieldAt = [...at, 'service', field];
    if (field === 'name') continue;
    if (field === 'description') {
      target['description'] = value;
      builder.origin(['services', serviceName, 'description'], fieldAt);
    } else if (field === 'logConfig') convertLogConfig(builder, target, value, fieldAt, ['services', serviceName]);
    else dropped(builder, field, fieldAt, 'service');
  }
  for (const field of Object.keys(props)) {
    if (field === 'customDomains') dropped(builder, field, [...at, field], 'props');
    else if (!['region', 'service', 'function', 'triggers'].includes(field)) builder.warn([...at, field], 'not a field of the fc component edgefc knows: ignored');
  }
  if (!isYamlMap(fn)) {
    builder.warn([...at, 'function'], 'no function: this entry only configures its service');
    return;
  }
  const functionName = typeof fn['name'] === 'string' ? fn['name'] : entryName;
  convertFunction(builder, { map: fn, path: [...at, 'function'], serviceName, functionName });
  if (props['triggers'] !== undefined) convertTriggerList(builder, props['triggers'], [...at, 'triggers']);
}

function fromFc3(builder: ImportBuilder, props: YamlMap, at: FieldPath, entryName: string, serviceName: string): void {
  const functionName = typeof props['functionName'] === 'string' ? props['functionName'] : entryName;
  convertFunction(builder, { map: props, path: at, serviceName, functionName, fc3Service: serviceName });
  if (props['triggers'] !== undefined) convertTriggerList(builder, props['triggers'], [...at, 'triggers']);
}

function dropped(builder: ImportBuilder, field: string, at: FieldPath, where: string): void {
  const known = DROPPED_FIELDS[field];
  if (known !== undefined) builder.messages.push({ severity: known.severity, source: at, reason: known.reason });
  else builder.warn(at, `not a ${where} field edgefc knows: ignored`);
}
