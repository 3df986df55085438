/**
 * `edgefc import`'s one-time conversion: read an FC project file, convert it, write edgefc's
 * template with a header naming the source, and check what was written as `start` would.
 * Nothing is written when the conversion has errors or the target exists (unless `force`).
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { InvalidArgumentError } from 'edgefc/errors';
import { loadTemplate } from '../load-template.js';
import { TemplateError, type TemplateProblem } from '../template-error.js';
import { formatPath, type YamlMap } from '../template-fields.js';
import { parseTemplateText } from '../template-source.js';
import { convertProject } from './convert-project.js';
import { detectFormat, FORMAT_TITLES, ProjectFormat } from './detect-format.js';
import { ImportSeverity, messageText } from './import-messages.js';
import type { LocatedImportMessage } from './foreign-template.js';

/** Beside the source: `template.yml` would overwrite a Funcraft project's own file. */
export const DEFAULT_IMPORT_OUT = 'edgefc.yml';

export interface ImportResult {
  format: ProjectFormat;
  out: string;
  functions: number;
  /** Every message, located in the source file. */
  messages: LocatedImportMessage[];
}

export async function importProject(file: string, options: { out?: string; force?: boolean; now?: Date } = {}): Promise<ImportResult> {
  const source = path.resolve(file);
  const out = path.resolve(options.out ?? path.join(path.dirname(source), DEFAULT_IMPORT_OUT));
  if (out === source) throw new InvalidArgumentError(`${file}: --out names the source file itself; choose another file`);
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (err) {
    throw new TemplateError(file, [{ field: '', reason: `cannot read it: ${err instanceof Error ? err.message : String(err)}` }], { cause: err });
  }
  const parsed = parseTemplateText(text);
  if (!parsed.ok) throw new TemplateError(file, parsed.problems);
  const format = detectFormat(parsed.raw);
  if (format === ProjectFormat.edgefc) {
    throw new InvalidArgumentError(`${file}: not a Serverless Devs s.yaml (edition + services/resources) or Funcraft template.yml (ROSTemplateFormatVersion, Aliyun::Serverless resources); an edgefc template needs no import`);
  }
  const converted = convertProject(parsed.raw as YamlMap, format, { sourceDir: path.dirname(source), targetDir: path.dirname(out) });
  const messages = converted.messages.map((m): LocatedImportMessage => {
    const pos = m.source.length === 0 ? undefined : parsed.source.locate(m.source, 'key');
    return { severity: m.severity, field: formatPath(m.source), reason: m.reason, ...(pos === undefined ? {} : { line: pos.line, col: pos.col }) };
  });
  const errors: TemplateProblem[] = messages.filter((m) => m.severity === ImportSeverity.error).map(({ severity: _s, ...p }) => p);
  if (errors.length > 0) throw new TemplateError(file, errors);
  if (options.force !== true && (await exists(out))) throw new InvalidArgumentError(`${out} exists: give --force to replace it, or another --out`);

  const header = [
    `# Converted by "edgefc import" from ${path.relative(path.dirname(out), source) || path.basename(source)} (${FORMAT_TITLES[format]}) on ${(options.now ?? new Date()).toISOString().slice(0, 10)}.`,
    '# Field reference: functions/README.md; what each FC field became: docs/import.md. What was left out:',
    ...converted.messages.filter((m) => m.severity !== ImportSeverity.info).map((m) => `#   ${messageText(m)}`.replace(/\n/g, ' ')),
  ].join('\n');
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${header}\n${stringify(readable(converted.template), { lineWidth: 0 })}`, { mode: 0o600 });
  // The file may hold environment variable values (copied from the source): 0600 as the source should be.
  const template = await loadTemplate(out);
  return { format, out, functions: template.functions.length, messages };
}

/** A service's own fields before its functions, as people write them. */
function readable(template: YamlMap): YamlMap {
  const services: YamlMap = {};
  for (const [name, service] of Object.entries(template['services'] as Record<string, YamlMap>)) {
    const { functions, ...own } = service;
    services[name] = { ...own, functions };
  }
  return { ...template, services };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
