/**
 * `edgefc import FILE`: convert a Serverless Devs s.yaml or Funcraft template.yml into an edgefc
 * template once (registry/import/write-imported.ts), printing a message for every field that has
 * no meaning on an edge box as file:line:col. `validate` and `deploy --template` also take such
 * files directly; import is for a project that moves to edgefc for good.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_IMPORT_OUT, importProject } from '../../registry/import/write-imported.js';
import { formatProblem, TemplateError } from '../../registry/template-error.js';
import type { LocatedImportMessage } from '../../registry/import/foreign-template.js';
import { UsageError } from '../usage-error.js';
import { printFailure, type Output } from './common.js';

export const IMPORT_USAGE = `Usage: edgefc import FILE [--out F] [--force] [--json]

Convert a Function Compute project file once into an edgefc template: a Serverless Devs s.yaml
(fc component, edition 1.0.0; fc3 component, edition 3.0.0) or a Funcraft template.yml (ROS
Aliyun::Serverless::Service / Function). Every field with no meaning on an edge box is named,
as file:line:col: field: warning|error|info: reason (docs/import.md has the table). Nothing is
written when there is an error. Functions keep edgefc's default invokers.

Options:
  --out F             the template to write (default: ${DEFAULT_IMPORT_OUT} beside FILE; codeUri is rewritten relative to it)
  --force             replace F when it exists
  --json              print {"ok", "out", "format", "functions", "messages"} (or {"error"} on failure)
`;

/** What the parser accepts; also the command table's flags (command-table.ts: help, completion). */
export const IMPORT_OPTIONS = {
  out: { type: 'string' },
  force: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function runImport(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: IMPORT_OPTIONS });
  if (values.help) {
    output.out(IMPORT_USAGE);
    return 0;
  }
  const [file, ...rest] = positionals;
  if (file === undefined || rest.length > 0) throw new UsageError('give one s.yaml or Funcraft template.yml');
  try {
    const result = await importProject(file, { ...(values.out === undefined ? {} : { out: values.out }), force: values.force });
    if (values.json) {
      output.out(`${JSON.stringify({ ok: true, out: result.out, format: result.format, functions: result.functions, messages: result.messages })}\n`);
    } else {
      printImportMessages(output, file, result.messages);
      const warnings = result.messages.filter((m) => m.severity === 'warning').length;
      output.out(`wrote ${result.out} from ${file} (${result.format}): ${result.functions} function(s), ${warnings} warning(s)\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof TemplateError && !values.json) {
      for (const problem of error.problems) output.err(`${formatProblem(error.file, { ...problem, reason: `error: ${problem.reason}` })}\n`);
    } else printFailure(output, error, values.json);
    return 1;
  }
}

/** Each message as `file:line:col: field: severity: reason` on stderr (shared with validate and deploy). */
export function printImportMessages(output: Output, file: string, messages: readonly LocatedImportMessage[]): void {
  for (const { severity, ...problem } of messages) output.err(`${formatProblem(file, { ...problem, reason: `${severity}: ${problem.reason}` })}\n`);
}
