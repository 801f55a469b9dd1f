/**
 * Operations on one blob that touch both its file and its index entry. Each runs under the
 * digest's lock, so a delete, an adoption and a commit of the same digest never interleave.
 *
 * delete vs open readers: removal is unlink(2). A reader that already opened the file keeps
 * its descriptor and reads to the end (POSIX keeps the inode until the last close); only new
 * opens fail. The file goes first and the index entry second: a crash between them leaves an
 * entry naming a missing file, which recovery drops — never a served entry with no file
 * behind it for long, and never a file that silently loses its verification.
 */
import { stat } from 'node:fs/promises';
import type { Digest } from '@regcache/registry-protocol';
import { isNotFound } from './errors.js';
import { hashFile, removeFile } from './fs-util.js';
import { deleteBlobOps, getMeta, putMetaOp, type IndexDb } from './index-db.js';
import { INDEX_LOCK, type KeyedLock } from './keyed-lock.js';
import { blobKey } from './keys.js';
import { blobPath } from './layout.js';
import type { StoreLogger } from './types.js';

export interface BlobOpsContext {
  root: string;
  db: IndexDb;
  lock: KeyedLock;
  logger: StoreLogger;
}

/** Unlinks the file, then drops the index entry and every link to it. True if either existed. */
export async function removeBlob(ctx: BlobOpsContext, digest: Digest): Promise<boolean> {
  return ctx.lock.run(digest, async () => {
    const hadFile = await removeFile(blobPath(ctx.root, digest));
    const hadEntry = await ctx.lock.run(INDEX_LOCK, async () => {
      const existed = (await ctx.db.get(blobKey(digest))) !== undefined;
      await ctx.db.batch(await deleteBlobOps(ctx.db, digest));
      return existed;
    });
    return hadFile || hadEntry;
  });
}

/**
 * A file with no index entry (a crash between rename and index put, or a lost index):
 * re-hash it; index it if its content matches the digest its name claims, else delete it.
 * Returns what happened.
 */
export async function adoptFile(ctx: BlobOpsContext, digest: Digest): Promise<'indexed' | 'deleted' | 'skipped'> {
  return ctx.lock.run(digest, async () => {
    if ((await getMeta(ctx.db, digest)) !== undefined) return 'skipped'; // indexed meanwhile
    const path = blobPath(ctx.root, digest);
    let actual: string;
    try {
      actual = await hashFile(path, digest);
    } catch (error) {
      if (isNotFound(error)) return 'skipped';
      throw error;
    }
    if (actual !== digest) {
      ctx.logger.warn({ digest, actual, path }, 'blob-store: unindexed file does not match its digest; deleting');
      await removeFile(path);
      return 'deleted';
    }
    const info = await stat(path);
    const at = Math.floor(info.mtimeMs);
    const op = putMetaOp({ digest, size: info.size, createdAt: at, lastAccess: at, hits: 0 });
    await ctx.lock.run(INDEX_LOCK, () => ctx.db.put(op.key, op.value));
    return 'indexed';
  });
}

/** Drops the index entry of a blob whose file is missing, unless the file appeared meanwhile. */
export async function dropDangling(ctx: BlobOpsContext, digest: Digest): Promise<boolean> {
  return ctx.lock.run(digest, async () => {
    try {
      await stat(blobPath(ctx.root, digest));
      return false;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    await ctx.lock.run(INDEX_LOCK, async () => ctx.db.batch(await deleteBlobOps(ctx.db, digest)));
    return true;
  });
}
