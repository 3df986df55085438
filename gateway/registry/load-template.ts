/**
 * Reads a template file (functions/README.md documents the format), checks every field and
 * returns the registry's view of it (types.ts): times in ms, code directories absolute.
 *
 * Nothing is half-loaded: either every field is valid and every handler file exists, or one
 * TemplateError lists all the problems with file, line, field path and reason.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkTemplate } from './check-template.js';
import { viewTemplate, type LocatedImportMessage } from './import/foreign-template.js';
import { TemplateError } from './template-error.js';
import { ProblemList } from './template-fields.js';
import { parseTemplateText } from './template-source.js';
import type { Template } from './types.js';

export interface LoadTemplateOptions {
  /**
   * Where the credential overrides (EDGEFC_ACCESS_KEY_ID, EDGEFC_ACCESS_KEY_SECRET,
   * EDGEFC_SECURITY_TOKEN) are read from.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Hears each warning and note of converting a Serverless Devs s.yaml or Funcraft
   * template.yml (import/foreign-template.ts); conversion errors fail the load as any problem.
   * @default ignored
   */
  onImportMessage?: (message: LocatedImportMessage) => void;
}

export async function loadTemplate(file: string, options: LoadTemplateOptions = {}): Promise<Template> {
  const absPath = path.resolve(file);
  const shown = displayPath(absPath);

  let text: string;
  try {
    text = await readFile(absPath, 'utf8');
  } catch (err) {
    throw new TemplateError(shown, [{ field: '', reason: readFailure(err) }], { cause: err });
  }

  const parsed = parseTemplateText(text);
  if (!parsed.ok) {
    throw new TemplateError(shown, parsed.problems, parsed.cause === undefined ? {} : { cause: parsed.cause });
  }

  const { source } = parsed;
  // An FC project file (s.yaml, Funcraft) is checked as its conversion, at the source's positions.
  const view = viewTemplate(parsed.raw, source, path.dirname(absPath));
  for (const note of view.notes) options.onImportMessage?.(note);
  const problems = new ProblemList(view.locate);
  problems.problems.push(...view.problems);
  const template = await checkTemplate(view.raw, {
    problems,
    source,
    templateDir: path.dirname(absPath),
    env: options.env ?? process.env,
    absPath,
  });
  if (template === undefined || problems.size > 0) throw new TemplateError(shown, problems.problems);
  return template;
}

/** Relative to the working directory when inside it (short, and what the user typed), else absolute. */
function displayPath(absPath: string): string {
  const rel = path.relative(process.cwd(), absPath);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : absPath;
}

function readFailure(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  switch (code) {
    case 'ENOENT':
      return 'template file not found';
    case 'EISDIR':
      return 'is a directory, not a template file';
    case 'EACCES':
    case 'EPERM':
      return 'template file is not readable (permission denied)';
    default:
      return `cannot read the template file: ${err instanceof Error ? err.message : String(err)}`;
  }
}
