/**
 * Helpers for "did you mean" hints and bounded name lists, shared by the template loader
 * (unknown fields) and the registry (unknown service or function on a call).
 */

/**
 * Names further than this from every candidate get no hint. Two edits catch the usual typos
 * (`timout`, `memorysize`, `helloWorld`) without offering unrelated names for short inputs.
 */
const MAX_HINT_DISTANCE = 2;

/** Inputs longer than this get no hint: the wire allows 128-character names, and the distance is O(n·m). */
const MAX_HINT_INPUT_LENGTH = 128;

/** Levenshtein distance, case-insensitive (a wrong case is the commonest slip), stopping past `limit`. */
function distance(a: string, b: string, limit: number): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (Math.abs(x.length - y.length) > limit) return limit + 1;
  let previous = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      const value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      current.push(value);
      if (value < rowMin) rowMin = value;
    }
    if (rowMin > limit) return limit + 1;
    previous = current;
  }
  return previous[y.length] ?? limit + 1;
}

/** The candidate closest to `input` within two edits, or undefined. Ties go to the earlier candidate. */
export function closestName(input: string, candidates: Iterable<string>): string | undefined {
  if (input.length > MAX_HINT_INPUT_LENGTH) return undefined;
  let best: string | undefined;
  let bestDistance = MAX_HINT_DISTANCE + 1;
  for (const candidate of candidates) {
    if (candidate === input) continue;
    const d = distance(input, candidate, MAX_HINT_DISTANCE);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * `a, b, c and 7 more`: error messages name what exists without growing with the registry.
 * Ten names fit one terminal line for typical 10–20 character names.
 */
export function listNames(names: readonly string[], max = 10): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** A user- or wire-supplied string, quoted and cut short so it cannot flood a message or a log. */
export function quoteName(value: string, max = 64): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}
