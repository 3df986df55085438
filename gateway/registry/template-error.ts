/**
 * The one error a template load can end in. It carries every problem found, so a user fixes
 * the whole file in one pass instead of one field per restart.
 */
import { InvalidArgumentError, type EdgeFCErrorOptions } from 'edgefc/errors';

export interface TemplateProblem {
  /**
   * Dotted path of the field, e.g. `services.EdgeFC.functions.helloworld.timeout`;
   * '' when the problem is the file itself (missing, unreadable, YAML syntax).
   */
  field: string;
  /** Why, e.g. `must be an integer number of seconds from 1 to 86400 (got "abc")`. */
  reason: string;
  /** 1-based position in the file, when known. */
  line?: number;
  col?: number;
}

/**
 * Problems listed in the message; the rest are counted. A template with more than 20 problems
 * is usually one structural slip (bad indentation) and the first lines show it.
 */
const MAX_LISTED_PROBLEMS = 20;

/** `file:line:col: field: reason`, the shape editors and terminals turn into a link. */
export function formatProblem(file: string, problem: TemplateProblem): string {
  let where = file;
  if (problem.line !== undefined) {
    where += `:${problem.line}`;
    if (problem.col !== undefined) where += `:${problem.col}`;
  }
  return problem.field === '' ? `${where}: ${problem.reason}` : `${where}: ${problem.field}: ${problem.reason}`;
}

function formatMessage(file: string, problems: readonly TemplateProblem[]): string {
  const first = problems[0];
  if (problems.length === 1 && first !== undefined) return formatProblem(file, first);
  const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `  ${formatProblem(file, p)}`);
  if (problems.length > MAX_LISTED_PROBLEMS) {
    lines.push(`  … and ${problems.length - MAX_LISTED_PROBLEMS} more`);
  }
  return `${file}: ${problems.length} problems in the template:\n${lines.join('\n')}`;
}

/**
 * A template that cannot be loaded. `code` stays InvalidArgument (the catalog's code for bad
 * input), so callers that match on code need no new case; `problems` holds the details.
 */
export class TemplateError extends InvalidArgumentError {
  /** The file as named in the message (relative to the working directory when inside it). */
  readonly file: string;
  readonly problems: readonly TemplateProblem[];

  constructor(file: string, problems: readonly TemplateProblem[], options?: EdgeFCErrorOptions) {
    super(formatMessage(file, problems), options);
    this.file = file;
    this.problems = problems;
  }
}
