/**
 * Entry point of the importers: a parsed Serverless Devs or Funcraft file → edgefc's template
 * (as the YAML would parse), the messages, and where each converted field came from.
 * Used by the template loader (validate, deploy and start take such files directly) and by
 * `edgefc import` (which writes the result once).
 */
import type { FieldPath, YamlMap } from '../template-fields.js';
import { ProjectFormat } from './detect-format.js';
import { fromFuncraft } from './from-funcraft.js';
import { fromServerlessDevs } from './from-serverless-devs.js';
import { ImportBuilder } from './import-builder.js';
import type { ImportMessage } from './import-messages.js';

export interface ImportedProject {
  format: ProjectFormat;
  /** edgefc's template, as its YAML would parse. */
  template: YamlMap;
  messages: readonly ImportMessage[];
  /** Where a field of `template` came from in the source file. */
  sourceOf(target: FieldPath): FieldPath;
}

export interface ConvertOptions {
  /** Directory of the source file (its codeUri values are relative to it). */
  sourceDir: string;
  /** Directory the converted template is read from. @default sourceDir */
  targetDir?: string;
}

export function convertProject(raw: YamlMap, format: Exclude<ProjectFormat, 'edgefc'>, options: ConvertOptions): ImportedProject {
  const builder = new ImportBuilder(options.sourceDir, options.targetDir ?? options.sourceDir);
  if (format === ProjectFormat.funcraft) fromFuncraft(raw, builder);
  else fromServerlessDevs(raw, builder);
  // The load fails on any error anyway: a service emptied by one adds only an echo ("no functions").
  if (builder.errorCount > 0) {
    const services = builder.template['services'] as Record<string, YamlMap>;
    for (const [name, service] of Object.entries(services)) if (Object.keys(service['functions'] as YamlMap).length === 0) delete services[name];
  }
  // Secure by default: FC has no invokers, and a conversion must not open a function to devices.
  builder.info([], "invokers: FC has no such field; every function keeps edgefc's default (operators and this gateway's functions, not devices): add `invokers` to a function to open it");
  return { format, template: builder.template, messages: builder.messages, sourceOf: (target) => builder.sourceOf(target) };
}
