/**
 * JetStream's answer to a KV compare-and-set whose revision is no longer the key's ("wrong last
 * sequence", API error codes 10071 and 10164): another writer moved the key since it was read.
 * Every compare-and-set of the cluster's state (deployments, versions, the access file) reads it
 * the same way.
 */
export function isWrongLastSequence(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 10071 || code === 10164 || (error instanceof Error && /wrong last sequence/i.test(error.message));
}
