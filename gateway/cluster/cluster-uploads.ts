/**
 * Deploy uploads in progress (§9.9.2–§9.9.5) in a cluster: `deploy-begin`, each `deploy-chunk`
 * and `deploy-commit` are separate admin requests, and the queue group gives each to any
 * gateway, so the upload lives in the KV bucket `edgefc-uploads` (cluster-buckets.ts), not in
 * one gateway's memory:
 *
 *   UPLOAD.meta    {"principal", "size", "sha256", "received", "chunks", "lastChunkSha256", "lastChunkBytes", "touchedAt"}
 *   UPLOAD.cN      chunk N's bytes (at most 256 KiB: under nats-server's 1 MiB max_payload)
 *
 * The checks are UploadSessions' (upload-sessions.ts): the same arguments, errors and limits. A
 * chunk is written, then the meta moved with a compare-and-set on its revision, so two chunks of
 * one upload at once cannot both count (the later is InvalidArgument: send it again). The idle
 * limit (10 minutes) is checked against `touchedAt`; the bucket's TTL drops what is abandoned.
 */
import { randomBytes } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { AccessDeniedError, InvalidArgumentError, ResourceThrottledError, ServiceUnavailableError } from 'edgefc/errors';
import type { UploadOperations } from '../deployments/deployment-operations.js';
import { checkBegin, checkWhole, decodeChunk, MAX_CHUNK_BYTES } from '../deployments/upload-sessions.js';

interface UploadMeta {
  principal: string;
  size: number;
  sha256: string;
  received: number;
  chunks: number;
  lastChunkSha256: string | null;
  lastChunkBytes: number;
  touchedAt: number;
}

export interface ClusterUploadOptions {
  maxBundleBytes: number;
  /** Uploads open at once, across principals and gateways. @default 4 */
  maxOpen?: number;
  /** @default 600_000 */
  idleMs?: number;
  /** @default Date.now */
  now?: () => number;
}

const UPLOAD_ID = /^[0-9a-f]{24}$/;

export class ClusterUploads implements UploadOperations {
  readonly #kv: KV;
  readonly #options: Required<ClusterUploadOptions>;

  constructor(kv: KV, options: ClusterUploadOptions) {
    this.#kv = kv;
    this.#options = { maxOpen: 4, idleMs: 600_000, now: Date.now, ...options };
  }

  async begin(principal: string, size: unknown, sha256: unknown): Promise<{ uploadId: string; maxChunkBytes: number }> {
    const checked = checkBegin(size, sha256, this.#options.maxBundleBytes);
    const open = await this.#openUploads();
    if (open >= this.#options.maxOpen) throw new ResourceThrottledError(`${open} uploads are already open in the cluster; try again when one has finished (§9.9)`);
    const uploadId = randomBytes(12).toString('hex');
    const meta: UploadMeta = { principal, size: checked.size, sha256: checked.sha256, received: 0, chunks: 0, lastChunkSha256: null, lastChunkBytes: 0, touchedAt: this.#options.now() };
    await this.#call(() => this.#kv.create(`${uploadId}.meta`, JSON.stringify(meta)));
    return { uploadId, maxChunkBytes: MAX_CHUNK_BYTES };
  }

  async chunk(principal: string, args: Record<string, unknown>): Promise<{ received: number }> {
    const { id, meta, revision } = await this.#get(principal, args['uploadId']);
    const { offset, bytes, sha256 } = decodeChunk(args);
    // A chunk sent again because its answer was lost: the same bytes at the last offset are taken once.
    if (meta.lastChunkSha256 !== null && offset === meta.received - meta.lastChunkBytes && sha256 === meta.lastChunkSha256) return { received: meta.received };
    if (offset !== meta.received) throw new InvalidArgumentError(`"offset" must be ${meta.received}, the bytes received so far (got ${String(offset)}) (§9.9)`);
    if (meta.received + bytes.length > meta.size) throw new InvalidArgumentError(`the chunk runs past the bundle's size ${meta.size} (§9.9)`);
    await this.#call(() => this.#kv.put(`${id}.c${meta.chunks}`, bytes));
    const next: UploadMeta = { ...meta, received: meta.received + bytes.length, chunks: meta.chunks + 1, lastChunkSha256: sha256, lastChunkBytes: bytes.length, touchedAt: this.#options.now() };
    try {
      await this.#kv.update(`${id}.meta`, JSON.stringify(next), revision);
    } catch (error) {
      throw new InvalidArgumentError(`another chunk of this upload was taken at the same time; send offset ${meta.received} again (§9.9)`, { cause: error });
    }
    return { received: next.received };
  }

  async take(principal: string, uploadId: unknown): Promise<Buffer> {
    const { id, meta } = await this.#get(principal, uploadId);
    try {
      if (meta.received !== meta.size) throw new InvalidArgumentError(`the upload has ${meta.received} of ${meta.size} bytes (§9.9)`);
      const chunks: Buffer[] = [];
      for (let n = 0; n < meta.chunks; n += 1) {
        const entry = await this.#call(() => this.#kv.get(`${id}.c${n}`));
        if (entry === null || entry.operation !== 'PUT') throw new InvalidArgumentError(`chunk ${n} of the upload is gone from the cluster (dropped after an hour); upload again (§9.9)`);
        chunks.push(Buffer.from(entry.value));
      }
      return checkWhole(chunks, meta.sha256);
    } finally {
      await this.#drop(id, meta.chunks);
    }
  }

  async abort(principal: string, uploadId: unknown): Promise<void> {
    const { id, meta } = await this.#get(principal, uploadId);
    await this.#drop(id, meta.chunks);
  }

  async #get(principal: string, uploadId: unknown): Promise<{ id: string; meta: UploadMeta; revision: number }> {
    const unknown = new InvalidArgumentError('no such upload: "uploadId" unknown, committed, or dropped after 10 minutes idle (§9.9)');
    if (typeof uploadId !== 'string' || !UPLOAD_ID.test(uploadId)) throw unknown;
    const entry = await this.#call(() => this.#kv.get(`${uploadId}.meta`));
    if (entry === null || entry.operation !== 'PUT') throw unknown;
    const meta = entry.json<UploadMeta>();
    if (this.#options.now() - meta.touchedAt > this.#options.idleMs) {
      await this.#drop(uploadId, meta.chunks);
      throw unknown;
    }
    if (meta.principal !== principal) throw new AccessDeniedError('the upload belongs to another principal (§9.9)');
    return { id: uploadId, meta, revision: entry.revision };
  }

  /** Uploads open now; idle ones are dropped on the way. */
  async #openUploads(): Promise<number> {
    const keys = await this.#call(() => this.#kv.keys('*.meta'));
    let open = 0;
    for await (const key of keys) {
      const id = key.slice(0, -'.meta'.length);
      const entry = await this.#call(() => this.#kv.get(key));
      if (entry === null || entry.operation !== 'PUT') continue;
      const meta = entry.json<UploadMeta>();
      if (this.#options.now() - meta.touchedAt > this.#options.idleMs) await this.#drop(id, meta.chunks);
      else open += 1;
    }
    return open;
  }

  async #drop(id: string, chunks: number): Promise<void> {
    for (let n = 0; n < chunks; n += 1) await this.#kv.purge(`${id}.c${n}`).catch(() => undefined);
    await this.#kv.purge(`${id}.meta`).catch(() => undefined);
  }

  async #call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new ServiceUnavailableError(`the cluster's upload bucket did not answer: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
}
