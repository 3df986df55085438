/**
 * `--since` / the `since` argument of `logs-read` (docs/protocol.md §9.13): an ISO 8601 time, or
 * a duration back from now (`90s`, `10m`, `2h`, `1d`). Durations are counted on the gateway's
 * clock, so an operator's machine whose clock is off still gets the last ten minutes.
 */
const DURATION = /^([0-9]{1,9})([smhd])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** An ISO 8601 date-time with a zone (Z or ±hh:mm), or a plain date. */
const ISO_TIME = /^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d))?$/;

/** Epoch ms the value stands for, or a reason it is not one. */
export function parseSince(value: string, now: number): { ms: number } | { problem: string } {
  const duration = DURATION.exec(value);
  if (duration !== null) {
    const [, count = '0', unit = 's'] = duration;
    return { ms: now - Number(count) * UNIT_MS[unit as keyof typeof UNIT_MS] };
  }
  if (ISO_TIME.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return { ms };
  }
  return { problem: `"${value}" is neither a duration (90s, 10m, 2h, 1d) nor an ISO 8601 time with a zone (2026-01-31T12:00:00Z)` };
}
