/**
 * The template loader's hook for FC project files: when a parsed file is a Serverless Devs
 * s.yaml or a Funcraft template.yml (told by content: detect-format.ts), convert it and hand the
 * checks edgefc's template, with positions mapped back to the source file. Conversion errors
 * become template problems (the load fails); warnings and notes go to `onMessage`.
 */
import type { TemplateProblem } from '../template-error.js';
import { formatPath, type Locate, type YamlMap } from '../template-fields.js';
import type { TemplateSource } from '../template-source.js';
import { convertProject } from './convert-project.js';
import { detectFormat, ProjectFormat } from './detect-format.js';
import { ImportSeverity, type ImportMessage } from './import-messages.js';

/** A message with its place in the file, ready to print as file:line:col. */
export interface LocatedImportMessage extends TemplateProblem {
  severity: ImportMessage['severity'];
}

export interface TemplateView {
  format: ProjectFormat;
  /** What the checks read: the file itself, or its conversion. */
  raw: unknown;
  locate: Locate;
  /** Conversion errors: the load fails with these. */
  problems: TemplateProblem[];
  /** Conversion warnings and notes, in file order. */
  notes: LocatedImportMessage[];
}

export function viewTemplate(raw: unknown, source: TemplateSource, sourceDir: string, targetDir = sourceDir): TemplateView {
  const format = detectFormat(raw);
  if (format === ProjectFormat.edgefc) return { format, raw, locate: source.locate, problems: [], notes: [] };
  const imported = convertProject(raw as YamlMap, format, { sourceDir, targetDir });
  const located = imported.messages.map((m): LocatedImportMessage => {
    const pos = m.source.length === 0 ? undefined : source.locate(m.source, 'key');
    return { severity: m.severity, field: formatPath(m.source), reason: m.reason, ...(pos === undefined ? {} : { line: pos.line, col: pos.col }) };
  });
  return {
    format,
    raw: imported.template,
    locate: (target, at) => source.locate(imported.sourceOf(target), at),
    problems: located.filter((m) => m.severity === ImportSeverity.error).map(({ severity: _s, ...problem }) => problem),
    notes: located.filter((m) => m.severity !== ImportSeverity.error),
  };
}
