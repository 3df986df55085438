/**
 * A function's `invokers` (docs/security.md §3.2): who may call it. Checked here for form only;
 * whether a named device or group exists is the access file's business, which changes without
 * a redeploy.
 */
import { INVOKER_FORMS } from '../security/call-policy.js';
import { isPrincipalName } from '../security/principal.js';
import { nameProblem } from 'edgefc/protocol';
import type { FieldPath, ProblemList, YamlMap } from './template-fields.js';
import { hasField } from './template-fields.js';

export function checkInvokers(map: YamlMap, fnPath: FieldPath, problems: ProblemList): readonly string[] | undefined {
  if (!hasField(map, 'invokers')) return undefined;
  const at = [...fnPath, 'invokers'];
  const value = map['invokers'];
  if (!Array.isArray(value) || value.length === 0) {
    problems.add(at, `must be a non-empty list of: ${INVOKER_FORMS.join(', ')}`);
    return undefined;
  }
  const before = problems.size;
  for (const [index, entry] of value.entries()) {
    const problem = typeof entry === 'string' ? invokerProblem(entry) : 'must be a string';
    if (problem !== undefined) problems.add([...at, String(index)], problem);
  }
  return problems.size > before ? undefined : (value as string[]);
}

function invokerProblem(entry: string): string | undefined {
  if (entry === '*' || entry === 'devices' || entry === 'functions') return undefined;
  const cut = entry.indexOf(':');
  const kind = cut === -1 ? entry : entry.slice(0, cut);
  const name = cut === -1 ? '' : entry.slice(cut + 1);
  switch (kind) {
    case 'device':
    case 'group':
      return isPrincipalName(name) ? undefined : `"${entry}": ${kind} names are letters, digits and "-"`;
    case 'service':
      return nameProblem(name) === undefined ? undefined : `"${entry}": not a service name`;
    case 'function': {
      const [service = '', fn = '', ...rest] = name.split('/');
      return rest.length === 0 && nameProblem(service) === undefined && nameProblem(fn) === undefined
        ? undefined
        : `"${entry}": must be function:SERVICE/FUNCTION`;
    }
    default:
      return `"${entry}" is not one of: ${INVOKER_FORMS.join(', ')}`;
  }
}
