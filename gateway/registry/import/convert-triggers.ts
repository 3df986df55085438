/**
 * FC triggers (s.yaml `triggers:` lists of FC 2.0 and 3.0, Funcraft `Events:` maps). edgefc's
 * only triggers are MQTT topics, which FC does not have, so no FC trigger converts: each gets a
 * warning saying what would have called the function and what to do instead.
 */
import { isYamlMap, type FieldPath } from '../template-fields.js';
import { fieldOf, triggerReason } from './field-map.js';
import type { ImportBuilder } from './import-builder.js';

/** s.yaml: `- {name, type, config}` (fc) or `- {triggerName, triggerType, triggerConfig}` (fc3). */
export function convertTriggerList(builder: ImportBuilder, value: unknown, at: FieldPath): void {
  if (!Array.isArray(value)) {
    builder.warn(at, 'triggers must be a list: ignored');
    return;
  }
  value.forEach((trigger: unknown, i) => {
    const itemAt = [...at, String(i)];
    if (!isYamlMap(trigger)) {
      builder.warn(itemAt, 'not a trigger: ignored');
      return;
    }
    const type = trigger['type'] ?? trigger['triggerType'];
    const config = trigger['config'] ?? trigger['triggerConfig'];
    const name = trigger['name'] ?? trigger['triggerName'];
    const label = typeof name === 'string' ? `trigger ${JSON.stringify(name)}: ` : '';
    builder.warn(itemAt, label + triggerReason(typeof type === 'string' ? type : 'untyped', config));
  });
}

/** Funcraft: `Events: {NAME: {Type: HTTP|Timer|OSS|Log|MNSTopic|TableStore|CDN|RDS, Properties}}`. */
export function convertEventMap(builder: ImportBuilder, value: unknown, at: FieldPath): void {
  if (!isYamlMap(value)) {
    builder.warn(at, 'Events must be a map of event sources: ignored');
    return;
  }
  for (const [name, event] of Object.entries(value)) {
    const type = isYamlMap(event) ? fieldOf(event, 'type')?.value : undefined;
    const config = isYamlMap(event) ? fieldOf(event, 'properties')?.value : undefined;
    builder.warn([...at, name], `event ${JSON.stringify(name)}: ${triggerReason(typeof type === 'string' ? type : 'untyped', config)}`);
  }
}
