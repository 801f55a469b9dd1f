/**
 * The LevelDB index (see keys.ts for the key layout). LevelDB allows one process per
 * directory (it takes a lock file), so a second server or CLI on the same root gets a
 * StoreLockedError instead of a corrupted index; the CLI then talks to the server's admin API.
 *
 * Only metadata lives here; the files under blobs/ are the truth for content. Every blob
 * write puts its file in place first and its `b:` entry second, so the index can name a
 * missing file only after a crash mid-delete or outside interference — recovery drops those.
 */
import type { ClassicLevel } from 'classic-level';
import type { Digest } from '@regcache/registry-protocol';
import {
  BLOB_RANGE,
  blobKey,
  decodeMeta,
  linkKeyFromReverse,
  reverseLinkRange,
  type KeyRange,
} from './keys.js';
import type { BlobMeta } from './types.js';

export type IndexDb = ClassicLevel<string, string>;
export type PutOp = { type: 'put'; key: string; value: string };
export type IndexOp = PutOp | { type: 'del'; key: string };

/** The index entry of one blob, if any (a garbled entry reads as missing). */
export async function getMeta(db: IndexDb, digest: Digest): Promise<BlobMeta | undefined> {
  const value = await db.get(blobKey(digest));
  return value === undefined ? undefined : decodeMeta(value);
}

export function putMetaOp(meta: BlobMeta): PutOp {
  return { type: 'put', key: blobKey(meta.digest), value: JSON.stringify(meta) };
}

export async function keysIn(db: IndexDb, range: KeyRange): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of db.keys(range)) keys.push(key);
  return keys;
}

/** The ops removing a blob's entry and every link to it (forward and reverse). */
export async function deleteBlobOps(db: IndexDb, digest: Digest): Promise<IndexOp[]> {
  const ops: IndexOp[] = [{ type: 'del', key: blobKey(digest) }];
  for (const reverse of await keysIn(db, reverseLinkRange(digest))) {
    ops.push({ type: 'del', key: reverse });
    const forward = linkKeyFromReverse(reverse);
    if (forward !== undefined) ops.push({ type: 'del', key: forward });
  }
  return ops;
}

/** Every well-formed blob entry, in key order, as of the call: the iterator's snapshot is taken now, not at the first read. */
export function iterateMetas(db: IndexDb): AsyncGenerator<BlobMeta> {
  return decodeMetas(db.iterator(BLOB_RANGE));
}

async function* decodeMetas(entries: AsyncIterable<[string, string]>): AsyncGenerator<BlobMeta> {
  for await (const [, value] of entries) {
    const meta = decodeMeta(value);
    if (meta !== undefined) yield meta;
  }
}
