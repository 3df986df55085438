import { expect, it } from 'vitest';
import { newRequestId } from '../../src/protocol/request-id.js';
import { assertRequestId } from '../../src/protocol/names.js';

it('makes 21-character topic-safe IDs that a CLI never mistakes for an option', () => {
  const ids = new Set<string>();
  for (let i = 0; i < 20_000; i += 1) {
    const id = newRequestId();
    expect(id).toMatch(/^[0-9A-Za-z_]{21}$/);
    assertRequestId(id);
    ids.add(id);
  }
  expect(ids.size).toBe(20_000);
});
