import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { MAX_CHUNK_BYTES, UploadSessions } from '../../gateway/deployments/upload-sessions.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function chunkArgs(uploadId: string, offset: number, bytes: Buffer): Record<string, unknown> {
  return { uploadId, offset, sha256: sha(bytes), data: bytes.toString('base64') };
}

describe('UploadSessions', () => {
  const bundle = Buffer.from('0123456789'.repeat(100));

  test('chunks in order, each checked, then the whole bundle', () => {
    const uploads = new UploadSessions({ maxBundleBytes: 10_000 });
    const { uploadId, maxChunkBytes } = uploads.begin('alice', bundle.length, sha(bundle));
    expect(maxChunkBytes).toBe(MAX_CHUNK_BYTES);
    expect(uploads.chunk('alice', chunkArgs(uploadId, 0, bundle.subarray(0, 600)))).toEqual({ received: 600 });
    // The same chunk again (its answer was lost): taken once.
    expect(uploads.chunk('alice', chunkArgs(uploadId, 0, bundle.subarray(0, 600)))).toEqual({ received: 600 });
    expect(uploads.chunk('alice', chunkArgs(uploadId, 600, bundle.subarray(600)))).toEqual({ received: 1000 });
    expect(uploads.take('alice', uploadId).equals(bundle)).toBe(true);
    expect(uploads.open).toBe(0);
  });

  test('a chunk that does not match its sha256, or is out of order, or is not base64 is refused', () => {
    const uploads = new UploadSessions({ maxBundleBytes: 10_000 });
    const { uploadId } = uploads.begin('alice', bundle.length, sha(bundle));
    const part = bundle.subarray(0, 100);
    expect(() => uploads.chunk('alice', { ...chunkArgs(uploadId, 0, part), sha256: sha(Buffer.from('other')) })).toThrow(/does not match its sha256/);
    expect(() => uploads.chunk('alice', chunkArgs(uploadId, 100, part))).toThrow(/"offset" must be 0/);
    expect(() => uploads.chunk('alice', { ...chunkArgs(uploadId, 0, part), data: '@@@@' + part.toString('base64') })).toThrow(/base64/);
    expect(() => uploads.chunk('bob', chunkArgs(uploadId, 0, part))).toThrow(expect.objectContaining({ code: ErrorCode.AccessDenied }) as Error);
  });

  test('a bundle whose bytes do not match the announced sha256 is refused at commit', () => {
    const uploads = new UploadSessions({ maxBundleBytes: 10_000 });
    const { uploadId } = uploads.begin('alice', bundle.length, sha(Buffer.from('something else')));
    uploads.chunk('alice', chunkArgs(uploadId, 0, bundle));
    expect(() => uploads.take('alice', uploadId)).toThrow(/sha256 is/);
    expect(() => uploads.take('alice', uploadId)).toThrow(/no such upload/);
  });

  test('incomplete uploads, oversized bundles and chunks, idle uploads', () => {
    let now = 0;
    const uploads = new UploadSessions({ maxBundleBytes: 500, idleMs: 1000, now: () => now });
    expect(() => uploads.begin('alice', 501, sha(bundle))).toThrow(/at most 500/);
    const { uploadId } = uploads.begin('alice', 400, sha(bundle.subarray(0, 400)));
    expect(() => uploads.chunk('alice', chunkArgs(uploadId, 0, bundle.subarray(0, 401)))).toThrow(/past the bundle's size/);
    uploads.chunk('alice', chunkArgs(uploadId, 0, bundle.subarray(0, 100)));
    now = 2000;
    expect(() => uploads.chunk('alice', chunkArgs(uploadId, 100, bundle.subarray(100, 200)))).toThrow(/no such upload/);
    const big = new UploadSessions({ maxBundleBytes: 10 * MAX_CHUNK_BYTES });
    const huge = Buffer.alloc(MAX_CHUNK_BYTES + 1);
    const second = big.begin('alice', huge.length, sha(huge));
    expect(() => big.chunk('alice', chunkArgs(second.uploadId, 0, huge))).toThrow(/a chunk is 1 to/);
  });
});
