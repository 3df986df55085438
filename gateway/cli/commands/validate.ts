/**
 * `edgefc validate FILE`: check a template offline with the checks a start or deploy makes
 * (registry/load-template.ts); no gateway, no broker. Exit 0 when good, 1 with every problem as
 * `file:line:col: field: reason`, 2 for a bad command line.
 */
import { parseArgs } from 'node:util';
import { loadTemplate } from '../../registry/load-template.js';
import { formatProblem, TemplateError } from '../../registry/template-error.js';
import type { LocatedImportMessage } from '../../registry/import/foreign-template.js';
import { UsageError } from '../usage-error.js';
import { printImportMessages } from './import.js';
import { printFailure, type Output } from './common.js';
import { natsNameProblems } from '../../cluster/nats-template-names.js';

export const VALIDATE_USAGE = `Usage: edgefc validate FILE [--nats] [--json]

Check a template without starting anything, with the checks "edgefc start" and "deploy" make.
Exit status 0: good; 1: problems, printed as file:line:col: field: reason.
A Serverless Devs s.yaml or Funcraft template.yml is checked as its conversion ("edgefc import"):
fields with no meaning on an edge box are printed as warnings, at their place in FILE.

Options:
  --nats              also refuse what a NATS cluster cannot carry (edgefc gateway --nats):
                      trigger and destination topics with ".", spaces, "*" or ">" in a level,
                      or an empty level (docs/protocol.md §2.7)
  --json              print {"ok", "file", "functions", "messages"} or {"ok": false, "problems": [...]}
`;

/** What the parser accepts; also the command table's flags (command-table.ts: help, completion). */
export const VALIDATE_OPTIONS = { nats: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } as const;

export async function runValidate(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: VALIDATE_OPTIONS,
  });
  if (values.help) {
    output.out(VALIDATE_USAGE);
    return 0;
  }
  const [file, ...rest] = positionals;
  if (file === undefined || rest.length > 0) throw new UsageError('give one template file');
  const messages: LocatedImportMessage[] = [];
  try {
    const template = await loadTemplate(file, { onImportMessage: (m) => messages.push(m) });
    const functions = template.functions.length;
    const natsProblems = values.nats ? natsNameProblems(template) : [];
    if (natsProblems.length > 0) {
      // §2.7: what `edgefc gateway --nats` and a deploy to a cluster refuse, field by field.
      if (values.json) output.out(`${JSON.stringify({ ok: false, file, nats: natsProblems, error: { code: 'InvalidArgument', message: 'cannot be served by a NATS cluster (docs/protocol.md §2.7)' } })}\n`);
      else for (const p of natsProblems) output.err(`${file}: ${p.field}: "${p.value}": ${p.reason} (NATS, docs/protocol.md §2.7)\n`);
      return 1;
    }
    if (values.json) output.out(`${JSON.stringify({ ok: true, file, functions, ...(messages.length === 0 ? {} : { messages }) })}\n`);
    else printImportMessages(output, file, messages);
    if (!values.json) output.out(`${file}: ok, ${template.services.length} service(s), ${functions} function(s)\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof TemplateError)) {
      printFailure(output, error, values.json);
      return 1;
    }
    // `error` as every command's --json failure has it; `problems` one by one.
    if (values.json) output.out(`${JSON.stringify({ ok: false, file: error.file, problems: error.problems, ...(messages.length === 0 ? {} : { messages }), error: { code: error.code, message: error.message } })}\n`);
    else {
      printImportMessages(output, file, messages);
      for (const problem of error.problems) output.err(`${formatProblem(error.file, problem)}\n`);
    }
    return 1;
  }
}
