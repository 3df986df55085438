/**
 * The YAML layer of template loading: parses the text, turns YAML's own errors into template
 * problems with line and column, and finds where a field sits when a later check reports it.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type YAMLError } from 'yaml';
import type { TemplateProblem } from './template-error.js';
import type { FieldPath, Locate } from './template-fields.js';

/** Aliases are fine for sharing a block of settings; past this many, a "billion laughs" file. */
const MAX_ALIAS_COUNT = 100;

export type ParsedTemplate =
  | { ok: true; raw: unknown; source: TemplateSource }
  | { ok: false; problems: TemplateProblem[]; cause?: unknown };

export function parseTemplateText(text: string): ParsedTemplate {
  const lineCounter = new LineCounter();
  // merge: `<<: *base` lets functions share settings (the docker-compose idiom); YAML 1.2 leaves it off by default.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const problems = [...doc.errors, ...doc.warnings].map((e) => syntaxProblem(e, text, lineCounter));
  if (problems.length > 0) return { ok: false, problems };
  try {
    const raw: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    return { ok: true, raw, source: new TemplateSource(doc, lineCounter) };
  } catch (err) {
    const reason = `cannot read the YAML: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, problems: [{ field: '', reason }], cause: err };
  }
}

function syntaxProblem(error: YAMLError, text: string, lineCounter: LineCounter): TemplateProblem {
  const { line, col } = lineCounter.linePos(error.pos[0]);
  return { field: '', reason: syntaxReason(error, text), line, col };
}

function syntaxReason(error: YAMLError, text: string): string {
  switch (error.code) {
    case 'DUPLICATE_KEY': {
      // The error points at the second occurrence; its text up to the colon is the key.
      const key = /^[^:\n]*/.exec(text.slice(error.pos[0]))?.[0].trim() ?? '';
      return `duplicate key ${JSON.stringify(key)}: a YAML map may not repeat a key (two services, functions or fields with one name)`;
    }
    case 'MULTIPLE_DOCS':
      return 'the template must be a single YAML document (found a second "---")';
    default:
      return `YAML ${error.name === 'YAMLWarning' ? 'warning' : 'syntax error'}: ${error.message}`;
  }
}

/** Positions and raw scalar text, looked up in the parsed document only when a problem is reported. */
export class TemplateSource {
  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  readonly locate: Locate = (fieldPath, at) => {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node);
    for (let i = 0; i < fieldPath.length; i++) {
      const pair = findPair(node, fieldPath[i]);
      if (pair === undefined) break;
      if (i === fieldPath.length - 1 && at === 'key') {
        offset = rangeStart(pair.key) ?? offset;
        break;
      }
      node = pair.value;
      offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
    }
    return offset === undefined ? undefined : this.lineCounter.linePos(offset);
  };

  /** The scalar's text as written (`0123`, `1e3`, `true`), before YAML turned it into a number or boolean. */
  scalarText(fieldPath: FieldPath): string | undefined {
    let node: unknown = this.doc.contents;
    for (const segment of fieldPath) node = findPair(node, segment)?.value;
    return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
  }
}

function findPair(node: unknown, key: string | undefined): { key: unknown; value: unknown } | undefined {
  if (key === undefined) return undefined;
  // A list item by its index (`triggers.1`): the item stands for both key and value.
  if (isSeq(node)) {
    const item: unknown = /^\d+$/.test(key) ? node.items[Number(key)] : undefined;
    return item === undefined ? undefined : { key: item, value: item };
  }
  if (!isMap(node)) return undefined;
  return node.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: unknown }).range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}

