/**
 * A part of `cluster-status` (docs/protocol.md §9.16) the answering gateway may or may not be
 * able to read: the list, or why not. A part it may not read (its login lacks the permission, or
 * JetStream has no quorum) is reported, never an error of the whole operation.
 */
export type Listing<T> = { listed: true; items: T[] } | { listed: false; reason: string };

export const listed = <T>(items: T[]): Listing<T> => ({ listed: true, items });
export const notListed = <T>(reason: string): Listing<T> => ({ listed: false, reason });

/** A nats.js failure as a reason a person can act on: a refused permission says so. */
export function reasonOf(error: unknown, what: string): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/permission/i.test(message)) return `the gateway's NATS login may not read ${what} (${message})`;
  if (/timeout|no responders|503/i.test(message)) return `no answer reading ${what} (${message}); JetStream may have no quorum`;
  return `cannot read ${what}: ${message}`;
}
