/**
 * Collects a converted template (edgefc's field names), the messages of the conversion, and for
 * each converted field where it came from in the source file, so a later check of the converted
 * template is reported at the source file's line and column.
 */
import type { FieldPath, YamlMap } from '../template-fields.js';
import { ImportSeverity, type ImportMessage } from './import-messages.js';

const SEP = '\u0000';

export class ImportBuilder {
  readonly template: YamlMap = { edgefc: 1, services: {} };
  readonly messages: ImportMessage[] = [];
  readonly #origins = new Map<string, FieldPath>();

  constructor(
    /** Directory of the source file: codeUri values are relative to it. */
    readonly sourceDir: string,
    /** Directory the converted template will be read from: codeUri is rewritten relative to it. */
    readonly targetDir: string,
  ) {}

  error(source: FieldPath, reason: string): void {
    this.messages.push({ severity: ImportSeverity.error, source, reason });
  }

  warn(source: FieldPath, reason: string): void {
    this.messages.push({ severity: ImportSeverity.warning, source, reason });
  }

  info(source: FieldPath, reason: string): void {
    this.messages.push({ severity: ImportSeverity.info, source, reason });
  }

  get errorCount(): number {
    return this.messages.filter((m) => m.severity === ImportSeverity.error).length;
  }

  hasService(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.template['services'], name);
  }

  /** `services.S` of the converted template, created with its origin on first use. */
  service(name: string, source: FieldPath): YamlMap {
    const services = this.template['services'] as Record<string, YamlMap>;
    let service = services[name];
    if (service === undefined) {
      service = { functions: {} };
      services[name] = service;
      this.origin(['services', name], source);
    }
    return service;
  }

  /** Records that the converted field at `target` came from `source`. */
  origin(target: FieldPath, source: FieldPath): void {
    this.#origins.set(target.join(SEP), source);
  }

  /** Where a converted field came from: the nearest recorded ancestor's source (the file's top as a last resort). */
  sourceOf(target: FieldPath): FieldPath {
    for (let i = target.length; i > 0; i--) {
      const found = this.#origins.get(target.slice(0, i).join(SEP));
      if (found !== undefined) return found;
    }
    return [];
  }
}
