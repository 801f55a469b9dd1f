/**
 * One verified blob write. The life of a write, and what a crash at each step leaves:
 *
 *   1. open `<root>/tmp/<random>.part` (O_EXCL)   crash → a temp file: recovery deletes all of tmp/
 *   2. write(): hash each chunk, append (batched)  crash → same
 *   3. verify() (or commit()): size, digest checked  mismatch → temp removed, nothing indexed
 *   4. fsync the file, close it                    crash → same as 1
 *   5. rename into blobs/<alg>/<xx>/<hex>          crash → file in place, no index entry yet:
 *                                                  recovery re-hashes it and indexes it (or deletes it)
 *   6. fsync the directory (the rename is durable; new directories too)
 *   7. put the `b:` index entry                    only now does stat() report the blob
 *
 * The index is written only after the rename is durable: an index entry always names a
 * complete, verified file, so a hit can be served without re-checking. The reverse (a file
 * without an entry) is harmless and repaired at start. The temp file is in tmp/ on the same
 * filesystem as blobs/, so step 5 is an atomic rename — never a copy a reader could see half of.
 *
 * Concurrent writers of one digest each have their own temp file; both verify, and the
 * second rename atomically replaces the first's identical file (a reader holding the first
 * keeps its inode). Rename + index put run under the digest's lock, so they cannot interleave
 * with a delete() of the same digest.
 *
 * While the write runs, others may open `tempPath` and read up to `written` bytes: `written`
 * only grows after the bytes are in the file.
 *
 * After commit or abort the temp path is gone, but a descriptor already open on it stays
 * readable (POSIX).
 *
 * Step 2 may happen outside JavaScript (external(): the fill's native receive loop, which
 * hashes each piece it reads and appends it through the same descriptor). The writer then
 * takes the appender's `written` and digest; the checks of step 3 and everything after are
 * the same, so an index entry still only ever names bytes whose digest was checked.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { digestAlgorithm, type Digest } from '@regcache/registry-protocol';
import { BlobStoreError, DigestMismatchError, SizeMismatchError, StoreWriteError } from './errors.js';
import { fsyncDir, makeDirDurable, writevAll } from './fs-util.js';
import { getMeta, putMetaOp, type IndexDb } from './index-db.js';
import { INDEX_LOCK, type KeyedLock } from './keyed-lock.js';
import { blobDir, blobPath, newTempPath, tempDir } from './layout.js';
import type { BlobMeta, BlobWriter, ExternalAppend, WriteOptions } from './types.js';

export interface WriterContext {
  root: string;
  db: IndexDb;
  lock: KeyedLock;
  /** Temp paths of writes in progress: check() must not remove them. */
  active: Set<string>;
}

type State = 'open' | 'committing' | 'committed' | 'failed';

function asStoreError(error: unknown, path: string): BlobStoreError {
  return error instanceof BlobStoreError ? error : new StoreWriteError(path, error);
}

/** Moves the verified temp file into place and indexes it (steps 5–7 above). */
async function publish(ctx: WriterContext, digest: Digest, tempPath: string, meta: Omit<BlobMeta, 'digest' | 'hits' | 'createdAt' | 'lastAccess'>): Promise<BlobMeta> {
  return ctx.lock.run(digest, async () => {
    const dir = blobDir(ctx.root, digest);
    await makeDirDurable(dir);
    await rename(tempPath, blobPath(ctx.root, digest));
    await fsyncDir(dir);
    return ctx.lock.run(INDEX_LOCK, async () => {
      const now = Date.now();
      const existing = await getMeta(ctx.db, digest);
      const mediaType = meta.mediaType ?? existing?.mediaType;
      const next: BlobMeta = existing
        ? { ...existing, size: meta.size }
        : { digest, size: meta.size, createdAt: now, lastAccess: now, hits: 0 };
      if (mediaType !== undefined) next.mediaType = mediaType;
      const op = putMetaOp(next);
      await ctx.db.put(op.key, op.value);
      return next;
    });
  });
}

/**
 * Step 1. tmp/ removed under a running store (a cache cleared by hand: `rm -rf data/blobs
 * data/tmp`) is made again, once, rather than failing every fill until a restart; blobs/ is made
 * again by publish's makeDirDurable. Only tmp/ itself: a root gone with its index is past help.
 */
async function openTemp(root: string): Promise<{ tempPath: string; handle: FileHandle }> {
  const tempPath = newTempPath(root);
  try {
    return { tempPath, handle: await open(tempPath, 'wx') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new StoreWriteError(tempPath, error);
  }
  try {
    await mkdir(tempDir(root)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    return { tempPath, handle: await open(tempPath, 'wx') };
  } catch (error) {
    throw new StoreWriteError(tempPath, error);
  }
}

export async function openBlobWriter(ctx: WriterContext, digest: Digest, opts: WriteOptions = {}): Promise<BlobWriter> {
  const { expectedSize, mediaType } = opts;
  if (expectedSize !== undefined && !(Number.isSafeInteger(expectedSize) && expectedSize >= 0)) {
    throw new TypeError(`invalid expectedSize ${expectedSize}`);
  }
  const { tempPath, handle } = await openTemp(ctx.root);
  ctx.active.add(tempPath);
  const state: WriteState = {
    ctx,
    digest,
    tempPath,
    handle,
    expectedSize,
    mediaType,
    hash: createHash(digestAlgorithm(digest)),
    status: 'open',
    accepted: 0,
    written: 0,
    tail: Promise.resolve(),
    cleanup: Promise.resolve(),
  };
  return {
    digest,
    tempPath,
    get written() {
      return state.written;
    },
    write: (chunk) => writeChunk(state, chunk),
    verify: () => verifyWrite(state),
    commit: () => commitWrite(state),
    abort: () => abortWrite(state),
    external: () => handOut(state),
  };
}

interface Batch {
  chunks: Uint8Array[];
  bytes: number;
}

/** Everything one write owns. */
interface WriteState {
  readonly ctx: WriterContext;
  readonly digest: Digest;
  readonly tempPath: string;
  readonly handle: FileHandle;
  readonly expectedSize: number | undefined;
  readonly mediaType: string | undefined;
  readonly hash: Hash;
  status: State;
  /** Bytes handed to write() and hashed, in call order. */
  accepted: number;
  /** Bytes already in the temp file (what others may read). */
  written: number;
  /** The chain of file writes, in call order. */
  tail: Promise<void>;
  /** Chunks waiting for the write in progress to finish; written together next. */
  batch?: Batch;
  /** Closing and removing the temp file after a failure. */
  cleanup: Promise<void>;
  failure?: BlobStoreError;
  /** Set by verify() (or commit()): the content check, done once; the write takes no more chunks. */
  verified?: Promise<void>;
  committing?: Promise<BlobMeta>;
  /** Set by external(): the appender's digest (hex) once it has written everything. */
  external?: { hex?: string };
}

/** Marks the write failed, removes the temp file once pending writes settle, rejects. */
function failWrite(s: WriteState, error: unknown): Promise<never> {
  if (s.status !== 'failed') {
    s.status = 'failed';
    s.failure = asStoreError(error, s.tempPath);
    s.cleanup = s.tail
      .catch(() => undefined)
      .then(() => s.handle.close().catch(() => undefined))
      .then(() => rm(s.tempPath, { force: true }))
      .catch(() => undefined)
      .finally(() => s.ctx.active.delete(s.tempPath));
  }
  const reason = s.failure;
  return s.cleanup.then(() => Promise.reject(reason));
}

function closedError(s: WriteState): BlobStoreError {
  return s.failure ?? new BlobStoreError('WRITER_CLOSED', `write of ${s.digest} is no longer open (${s.status})`);
}

/**
 * Hashes the chunk now (so hashing follows call order) and queues its append. The caller
 * must not modify `chunk` until the returned promise settles.
 */
function writeChunk(s: WriteState, chunk: Uint8Array): Promise<void> {
  if (s.status !== 'open' || s.verified !== undefined || s.external !== undefined) return Promise.reject(closedError(s));
  const total = s.accepted + chunk.byteLength;
  // Reject as soon as the announced size is exceeded, not at the end of a (maybe huge) stream.
  if (s.expectedSize !== undefined && total > s.expectedSize) return failWrite(s, new SizeMismatchError(s.expectedSize, total));
  s.accepted = total;
  s.hash.update(chunk);
  // Chunks that arrive while the previous write is in the thread pool go out together, in one
  // writev: one round trip for many upstream chunks. `written` grows only once they are in.
  let batch = s.batch;
  if (batch === undefined) {
    const next: Batch = { chunks: [], bytes: 0 };
    batch = next;
    s.batch = next;
    s.tail = s.tail.then(async () => {
      if (s.batch === next) s.batch = undefined;
      await writevAll(s.handle, next.chunks);
      s.written += next.bytes;
    });
  }
  batch.chunks.push(chunk);
  batch.bytes += chunk.byteLength;
  return s.tail.catch((error: unknown) => failWrite(s, error));
}

/** Step 2 by an appender of its own (see the top): none of it may have happened through write(). */
function handOut(s: WriteState): ExternalAppend | undefined {
  if (s.status !== 'open' || s.verified !== undefined || s.external !== undefined || s.accepted > 0) return undefined;
  const external: { hex?: string } = {};
  s.external = external;
  return {
    fd: s.handle.fd,
    advance(written) {
      s.written = Math.max(s.written, written);
    },
    end(hex) {
      external.hex = hex;
    },
  };
}

/** Step 3: every write done, size and digest checked. Seals the write: no chunk is taken after. */
function verifyWrite(s: WriteState): Promise<void> {
  if (s.verified !== undefined) return s.verified;
  if (s.status !== 'open') return Promise.reject(closedError(s));
  s.verified = checkContent(s);
  return s.verified;
}

async function checkContent(s: WriteState): Promise<void> {
  await s.tail.catch((error: unknown) => failWrite(s, error));
  if (s.expectedSize !== undefined && s.written !== s.expectedSize) return failWrite(s, new SizeMismatchError(s.expectedSize, s.written));
  // An appender that has not ended (it failed, or was stopped) leaves no digest: a mismatch.
  const hex = s.external === undefined ? s.hash.digest('hex') : (s.external.hex ?? 'incomplete');
  const actual = `${digestAlgorithm(s.digest)}:${hex}`;
  if (actual !== s.digest) return failWrite(s, new DigestMismatchError(s.digest, actual));
}

/** Steps 3–7: verify size and digest (once), fsync, then publish. */
async function verifyAndPublish(s: WriteState): Promise<BlobMeta> {
  await verifyWrite(s);
  try {
    await s.handle.sync();
    await s.handle.close();
    const size = s.written;
    const meta = await publish(s.ctx, s.digest, s.tempPath, s.mediaType === undefined ? { size } : { size, mediaType: s.mediaType });
    s.status = 'committed';
    s.ctx.active.delete(s.tempPath);
    return meta;
  } catch (error) {
    return failWrite(s, error);
  }
}

function commitWrite(s: WriteState): Promise<BlobMeta> {
  if (s.committing !== undefined) return s.committing;
  if (s.status !== 'open') return Promise.reject(closedError(s));
  // Sealed before any await: verifyWrite sees status 'open' here, and later writes are refused.
  const verified = verifyWrite(s);
  verified.catch(() => undefined);
  s.status = 'committing';
  s.committing = verifyAndPublish(s);
  return s.committing;
}

/** Idempotent; once commit() was called, waits for it and changes nothing. */
async function abortWrite(s: WriteState): Promise<void> {
  if (s.committing !== undefined) {
    await s.committing.catch(() => undefined);
    return;
  }
  if (s.status === 'open') await failWrite(s, new BlobStoreError('WRITER_CLOSED', `write of ${s.digest} aborted`)).catch(() => undefined);
  await s.cleanup;
}
