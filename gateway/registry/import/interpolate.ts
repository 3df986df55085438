/**
 * Serverless Devs' `${…}` expressions, as far as a converter can resolve them without running
 * Serverless Devs: `${vars.a.b}` from the file's `vars`, and `${env('NAME', 'default')}` /
 * `${env(NAME, default)}` to its default. The environment itself is never read, so a secret in
 * it cannot end up in a converted file; anything else is left as written, with a message.
 */
import { isYamlMap, type FieldPath, type YamlMap } from '../template-fields.js';
import type { ImportBuilder } from './import-builder.js';

const EXPRESSION = /\$\{([^}]*)\}/g;

export function interpolate(value: unknown, vars: YamlMap, path: FieldPath, builder: ImportBuilder): unknown {
  if (typeof value === 'string') return interpolateString(value, vars, path, builder);
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, vars, [...path, String(i)], builder));
  if (isYamlMap(value)) {
    const out: YamlMap = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolate(item, vars, [...path, key], builder);
    return out;
  }
  return value;
}

function interpolateString(text: string, vars: YamlMap, path: FieldPath, builder: ImportBuilder): unknown {
  const whole = /^\$\{([^}]*)\}$/.exec(text);
  if (whole !== null) {
    const resolved = resolve((whole[1] ?? '').trim(), vars);
    if (resolved.ok) return resolved.value;
  }
  return text.replace(EXPRESSION, (expr, body: string) => {
    const resolved = resolve(body.trim(), vars);
    if (resolved.ok) return String(resolved.value);
    builder.error(path, `${expr} cannot be resolved outside Serverless Devs (${resolved.why}): write the value in the file`);
    return expr;
  });
}

type Resolved = { ok: true; value: unknown } | { ok: false; why: string };

function resolve(body: string, vars: YamlMap): Resolved {
  if (body.startsWith('vars.')) {
    let node: unknown = vars;
    for (const key of body.slice('vars.'.length).split('.')) node = isYamlMap(node) ? node[key] : undefined;
    return node === undefined ? { ok: false, why: `no ${body} in vars` } : { ok: true, value: node };
  }
  const env = /^env\(\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?\s*(?:,\s*(?:'([^']*)'|"([^"]*)"|([^)]*?)))?\s*\)$/.exec(body);
  if (env !== null) {
    const fallback = env[2] ?? env[3] ?? env[4];
    return fallback === undefined ? { ok: false, why: `environment variable ${env[1] ?? ''} has no default, and the environment is not read` } : { ok: true, value: fallback.trim() };
  }
  return { ok: false, why: 'only ${vars.…} and ${env(NAME, default)} are resolved' };
}
