/**
 * A Funcraft template.yml (ROS, Transform Aliyun::Serverless-2018-04-03) → edgefc's template.
 * `Resources` holds `Aliyun::Serverless::Service` entries whose other keys are
 * `Aliyun::Serverless::Function` entries; Properties are PascalCase FC 2.0 fields and
 * `Events` the function's triggers. Other resource types (CustomDomain, Log, TableStore,
 * MNSTopic…) are cloud resources: skipped with a message.
 */
import { isYamlMap, type YamlMap } from '../template-fields.js';
import { camel, convertFunction, convertLogConfig } from './convert-function.js';
import { convertEventMap } from './convert-triggers.js';
import { DROPPED_FIELDS } from './field-map.js';
import type { ImportBuilder } from './import-builder.js';

const SERVICE_TYPE = 'Aliyun::Serverless::Service';
const FUNCTION_TYPE = 'Aliyun::Serverless::Function';

export function fromFuncraft(raw: YamlMap, builder: ImportBuilder): void {
  for (const top of Object.keys(raw)) {
    if (top === 'ROSTemplateFormatVersion' || top === 'Transform' || top === 'Resources') continue;
    builder.warn([top], `ROS ${top} is not evaluated by edgefc: ignored`);
  }
  const resources = raw['Resources'];
  if (!isYamlMap(resources)) {
    builder.error(['Resources'], 'a Funcraft template needs Resources: a map of Aliyun::Serverless::Service entries');
    return;
  }
  for (const [serviceName, resource] of Object.entries(resources)) {
    const at = ['Resources', serviceName];
    const type = isYamlMap(resource) ? resource['Type'] : undefined;
    if (!isYamlMap(resource) || type !== SERVICE_TYPE) {
      builder.warn(at, `${typeof type === 'string' ? type : 'an untyped resource'} is not a function service: skipped (only ${SERVICE_TYPE} and its functions are imported)`);
      continue;
    }
    const service = builder.service(serviceName, at);
    const properties = isYamlMap(resource['Properties']) ? resource['Properties'] : {};
    for (const [key, value] of Object.entries(properties)) {
      const name = camel(key);
      const fieldAt = [...at, 'Properties', key];
      if (name === 'description') {
        service['description'] = value;
        builder.origin(['services', serviceName, 'description'], fieldAt);
      } else if (name === 'logConfig') convertLogConfig(builder, service, value, fieldAt, ['services', serviceName]);
      else {
        const known = DROPPED_FIELDS[name];
        if (known !== undefined) builder.messages.push({ severity: known.severity, source: fieldAt, reason: known.reason });
        else builder.warn(fieldAt, 'not a service property edgefc knows: ignored');
      }
    }
    for (const [functionName, child] of Object.entries(resource)) {
      if (functionName === 'Type' || functionName === 'Properties') continue;
      const fnAt = [...at, functionName];
      if (!isYamlMap(child) || child['Type'] !== FUNCTION_TYPE) {
        builder.warn(fnAt, `not an ${FUNCTION_TYPE}: skipped`);
        continue;
      }
      const props = isYamlMap(child['Properties']) ? child['Properties'] : {};
      convertFunction(builder, { map: props, path: [...fnAt, 'Properties'], serviceName, functionName });
      if (child['Events'] !== undefined) convertEventMap(builder, child['Events'], [...fnAt, 'Events']);
    }
  }
}
