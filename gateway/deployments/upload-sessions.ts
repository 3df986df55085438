/**
 * Uploads in progress (docs/protocol.md §9.9): `deploy-begin` opens one with the bundle's size
 * and sha256, `deploy-chunk` appends chunks in order, each checked against its own sha256, and
 * `deploy-commit` takes the whole bundle once its size and sha256 match. An upload belongs to
 * the principal that began it, and one left idle is dropped.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AccessDeniedError, InvalidArgumentError, ResourceThrottledError } from 'edgefc/errors';

/** 256 KiB: ~350 KB of base64 per admin request, far below the 6 MiB Sync limit (§7.2); 40 round trips for 10 MB. */
export const MAX_CHUNK_BYTES = 256 * 1024;

export interface UploadSessionOptions {
  /** @default 64 MiB */
  maxBundleBytes: number;
  /** Uploads open at once, across principals. @default 4 */
  maxOpen?: number;
  /** An upload with no chunk for this long is dropped. @default 600_000 */
  idleMs?: number;
  /** @default Date.now */
  now?: () => number;
}

interface Upload {
  principal: string;
  size: number;
  sha256: string;
  chunks: Buffer[];
  received: number;
  lastChunkSha256: string | undefined;
  touchedAt: number;
}

export class UploadSessions {
  readonly #uploads = new Map<string, Upload>();
  readonly #options: Required<UploadSessionOptions>;

  constructor(options: UploadSessionOptions) {
    this.#options = { maxOpen: 4, idleMs: 600_000, now: Date.now, ...options };
  }

  begin(principal: string, size: unknown, sha256: unknown): { uploadId: string; maxChunkBytes: number } {
    this.#expire();
    const checked = checkBegin(size, sha256, this.#options.maxBundleBytes);
    if (this.#uploads.size >= this.#options.maxOpen) throw new ResourceThrottledError(`${this.#uploads.size} uploads are already open; try again when one has finished (§9.9)`);
    const uploadId = randomBytes(12).toString('hex');
    this.#uploads.set(uploadId, { principal, size: checked.size, sha256: checked.sha256, chunks: [], received: 0, lastChunkSha256: undefined, touchedAt: this.#options.now() });
    return { uploadId, maxChunkBytes: MAX_CHUNK_BYTES };
  }

  chunk(principal: string, args: Record<string, unknown>): { received: number } {
    const upload = this.#get(principal, args['uploadId']);
    const { offset, bytes, sha256 } = decodeChunk(args);
    upload.touchedAt = this.#options.now();
    // A chunk sent again because its answer was lost: the same bytes at the last offset are taken once.
    const last = upload.chunks.at(-1);
    if (last !== undefined && offset === upload.received - last.length && sha256 === upload.lastChunkSha256) return { received: upload.received };
    if (offset !== upload.received) throw new InvalidArgumentError(`"offset" must be ${upload.received}, the bytes received so far (got ${String(offset)}) (§9.9)`);
    if (upload.received + bytes.length > upload.size) throw new InvalidArgumentError(`the chunk runs past the bundle's size ${upload.size} (§9.9)`);
    upload.chunks.push(Buffer.from(bytes));
    upload.received += bytes.length;
    upload.lastChunkSha256 = sha256;
    return { received: upload.received };
  }

  /** The whole bundle, checked; the upload is closed whether it matches or not. */
  take(principal: string, uploadId: unknown): Buffer {
    const upload = this.#get(principal, uploadId);
    this.#uploads.delete(uploadId as string);
    if (upload.received !== upload.size) throw new InvalidArgumentError(`the upload has ${upload.received} of ${upload.size} bytes (§9.9)`);
    return checkWhole(upload.chunks, upload.sha256);
  }

  abort(principal: string, uploadId: unknown): void {
    this.#get(principal, uploadId);
    this.#uploads.delete(uploadId as string);
  }

  get open(): number {
    return this.#uploads.size;
  }

  #get(principal: string, uploadId: unknown): Upload {
    this.#expire();
    const upload = typeof uploadId === 'string' ? this.#uploads.get(uploadId) : undefined;
    if (upload === undefined) throw new InvalidArgumentError('no such upload: "uploadId" unknown, committed, or dropped after 10 minutes idle (§9.9)');
    if (upload.principal !== principal) throw new AccessDeniedError('the upload belongs to another principal (§9.9)');
    return upload;
  }

  #expire(): void {
    const now = this.#options.now();
    for (const [id, upload] of this.#uploads) if (now - upload.touchedAt > this.#options.idleMs) this.#uploads.delete(id);
  }
}

/** `deploy-begin`'s arguments (§9.9.2), for every kind of upload sessions. */
export function checkBegin(size: unknown, sha256: unknown, maxBundleBytes: number): { size: number; sha256: string } {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) throw new InvalidArgumentError('"size" must be the bundle\'s size in bytes (§9.9)');
  if (size > maxBundleBytes) {
    throw new InvalidArgumentError(`the bundle is ${size} bytes; this gateway takes at most ${maxBundleBytes} (edgefc start --max-bundle-bytes) (§9.9)`);
  }
  assertSha256(sha256, '"sha256"');
  return { size, sha256 };
}

/** A `deploy-chunk`'s bytes (§9.9.3), checked against its sha256. */
export function decodeChunk(args: Record<string, unknown>): { offset: unknown; bytes: Buffer; sha256: string } {
  const { offset, data, sha256 } = args;
  if (typeof data !== 'string') throw new InvalidArgumentError('"data" must be the chunk in base64 (§9.9)');
  assertSha256(sha256, '"sha256"');
  const bytes = Buffer.from(data, 'base64');
  // Buffer.from(…, 'base64') skips bad characters instead of throwing: re-encode to be sure.
  if (bytes.toString('base64') !== data.replace(/=+$/, '') + '='.repeat((4 - (data.replace(/=+$/, '').length % 4)) % 4)) {
    throw new InvalidArgumentError('"data" is not canonical base64 (§9.9)');
  }
  if (bytes.length === 0 || bytes.length > MAX_CHUNK_BYTES) throw new InvalidArgumentError(`a chunk is 1 to ${MAX_CHUNK_BYTES} bytes (got ${bytes.length}) (§9.9)`);
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== sha256) throw new InvalidArgumentError(`the chunk at offset ${String(offset)} does not match its sha256 (got ${digest}); send it again (§9.9)`);
  return { offset, bytes, sha256 };
}

/** The chunks joined, checked against the sha256 `deploy-begin` announced (§9.9.4). */
export function checkWhole(chunks: readonly Buffer[], sha256: string): Buffer {
  const bytes = Buffer.concat(chunks);
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== sha256) throw new InvalidArgumentError(`the bundle's sha256 is ${digest}, not the ${sha256} announced by deploy-begin (§9.9)`);
  return bytes;
}

function assertSha256(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) throw new InvalidArgumentError(`${name} must be 64 lowercase hex digits (§9.9)`);
}
