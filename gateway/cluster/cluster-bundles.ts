/**
 * Bundles (§9.9.1) in the cluster's object store `edgefc-bundles`, named by their sha256: put
 * once by the gateway that takes a deploy, fetched by every gateway that applies it, each
 * fetch checked against the size and sha256 its deployment record names.
 */
import type { ObjectStore } from '@nats-io/obj';
import { ServiceUnavailableError } from 'edgefc/errors';
import { sha256 } from '../deployments/deployment-store.js';
import type { DeploymentRecord } from '../deployments/deployment-store.js';

/** Store `bytes` under their sha256, unless a whole copy is there already (a rollback, the same template again). */
export async function putBundle(store: ObjectStore, bytes: Buffer, digest: string): Promise<void> {
  try {
    const info = await store.info(digest);
    if (info !== null && !info.deleted && info.size === bytes.length) return;
    await store.putBlob({ name: digest, description: 'edgefc deploy bundle (§9.9.1)' }, bytes);
  } catch (error) {
    throw new ServiceUnavailableError(`cannot store the bundle in the cluster's object store: ${error instanceof Error ? error.message : String(error)}; nothing was deployed`, { cause: error });
  }
}

/** The bundle `entry` serves, whole and matching its record, or ServiceUnavailable saying what is wrong. */
export async function fetchBundle(store: ObjectStore, entry: DeploymentRecord): Promise<Buffer> {
  let blob: Uint8Array | null;
  try {
    blob = await store.getBlob(entry.sha256);
  } catch (error) {
    throw new ServiceUnavailableError(`cannot read the bundle of deployment ${entry.id} from the cluster's object store: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (blob === null) throw new ServiceUnavailableError(`the bundle of deployment ${entry.id} (${entry.sha256}) is not in the cluster's object store`);
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length !== entry.bytes || sha256(bytes) !== entry.sha256) {
    throw new ServiceUnavailableError(`the bundle of deployment ${entry.id} read from the object store is ${bytes.length} bytes with sha256 ${sha256(bytes)}, not ${entry.bytes} bytes with ${entry.sha256}`);
  }
  return bytes;
}

/**
 * Remove bundles no kept record uses any more, nor a service version (`pinned`, by sha256);
 * best effort (a leftover costs space, not correctness).
 */
export async function dropBundles(store: ObjectStore, dropped: readonly DeploymentRecord[], kept: readonly DeploymentRecord[], pinned: ReadonlySet<string> = new Set()): Promise<string[]> {
  const used = new Set([...kept.map((r) => r.sha256), ...pinned]);
  const gone = [...new Set(dropped.map((r) => r.sha256))].filter((digest) => !used.has(digest));
  for (const digest of gone) await store.delete(digest).catch(() => undefined);
  return gone;
}
