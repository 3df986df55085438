/**
 * functions/README.md is the template reference users read; these checks keep its tables in
 * step with gateway/registry/template-schema.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  CREDENTIAL_ENV,
  CREDENTIAL_FIELDS,
  FUNCTION_FIELDS,
  FUNCTION_LIMITS,
  ROOT_FIELDS,
  SERVICE_FIELDS,
} from '../../gateway/registry/template-schema.js';
import { RuntimeName } from '../../gateway/registry/types.js';

const readme = readFileSync(path.resolve(import.meta.dirname, '../../functions/README.md'), 'utf8');

/** Table rows whose first cell is a backquoted name: name → the other cells. */
function rows(heading: string): Map<string, string[]> {
  const start = readme.indexOf(`\n### ${heading}\n`);
  expect(start, `section "${heading}"`).toBeGreaterThan(-1);
  const next = readme.indexOf('\n### ', start + 1);
  const section = readme.slice(start, next === -1 ? undefined : next);
  const out = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const match = /^\| `([A-Za-z]+)` \|(.*)\|$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) out.set(match[1], match[2].split('|').map((c) => c.trim()));
  }
  return out;
}

describe('functions/README.md', () => {
  test('documents every field, and only those', () => {
    const top = rows('Top level');
    expect([...top.keys()].filter((k) => (ROOT_FIELDS as readonly string[]).includes(k))).toEqual([...ROOT_FIELDS]);
    expect([...rows('Services').keys()]).toEqual([...SERVICE_FIELDS]);
    expect([...rows('Functions').keys()]).toEqual([...FUNCTION_FIELDS]);
  });

  test('states each integer field\'s default and range', () => {
    const functions = rows('Functions');
    for (const [field, rule] of Object.entries(FUNCTION_LIMITS)) {
      const [, defaultCell, rangeCell] = functions.get(field) ?? [];
      expect(defaultCell, field).toBe(String(rule.default));
      expect(rangeCell, field).toBe(`${rule.min}–${rule.max}`);
    }
  });

  test('lists the supported runtimes and the credential variables', () => {
    expect(rows('Functions').get('runtime')?.[2]).toBe(Object.values(RuntimeName).map((r) => `\`${r}\``).join(', '));
    const top = rows('Top level');
    for (const field of CREDENTIAL_FIELDS) {
      expect(top.get(field)?.[0]).toBe(`\`${CREDENTIAL_ENV[field]}\``);
    }
  });
});
