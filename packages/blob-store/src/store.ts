/**
 * createBlobStore: composes the layout, the LevelDB index, writers, readers, batched access
 * bookkeeping and recovery into one BlobStore object. All state lives in the closure of one
 * call; two stores on different roots share nothing.
 *
 * Closing: flushes the batched access data and closes LevelDB (releasing its lock). Writes
 * still in progress at close are the caller's to abort first (their commit would fail on the
 * closed index, leaving a file without an entry that the next start re-indexes).
 */
import { resolve } from 'node:path';
import type { Digest } from '@regcache/registry-protocol';
import { createAccessBatcher, type AccessBatcher } from './access-batcher.js';
import { removeBlob } from './blob-ops.js';
import { runCheck, type CheckContext } from './check.js';
import { BlobStoreError } from './errors.js';
import { createHotCache, HOT_BYTES_MAX_BLOB, type HotCache } from './hot-cache.js';
import { getMeta, iterateMetas } from './index-db.js';
import { openIndexDb } from './open-index.js';
import { COUNTER_RANGE, decodeCounter } from './keys.js';
import { createKeyedLock } from './keyed-lock.js';
import { blobPath, indexDir } from './layout.js';
import { prepareRoot } from './prepare.js';
import { createOpenFiles, type OpenFiles } from './open-files.js';
import { openBlobStream, readBlobBytes } from './reader.js';
import { refMethods } from './refs.js';
import type { BlobMeta, BlobStore, BlobStoreOptions, StoreLogger } from './types.js';
import { openBlobWriter } from './writer.js';

const DEFAULT_FLUSH_INTERVAL_MS = 5000;

interface StoreContext extends CheckContext {
  active: Set<string>;
  hot: HotCache;
  /** Hot blobs' descriptors, kept open between reads (open-files.ts). */
  openFiles: OpenFiles;
  batcher: AccessBatcher;
  /** Throws STORE_CLOSED once close() was called. */
  assertOpen(): void;
}

function ignore(): void {
  // the no-op logger discards everything
}

/** The default logger: discards everything. */
export function noopLogger(): StoreLogger {
  return { info: ignore, warn: ignore, error: ignore, debug: ignore };
}

/**
 * Opens (creating if needed) the store at `opts.root`: directories, the LevelDB index
 * (StoreLockedError if another process has it), then recovery (unless `recover: false`).
 */
export async function createBlobStore(opts: BlobStoreOptions): Promise<BlobStore> {
  const root = resolve(opts.root);
  const logger = opts.logger ?? noopLogger();
  await prepareRoot(root);
  const db = await openIndexDb(indexDir(root), logger);
  const base: CheckContext & { active: Set<string> } = { root, db, lock: createKeyedLock(), logger, active: new Set() };
  try {
    if (opts.recover !== false) await recoverAtStart(base);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  const hot = createHotCache();
  const batcher = createAccessBatcher({
    db,
    lock: base.lock,
    logger,
    intervalMs: opts.accessFlushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
    onWritten: (digests) => {
      for (const digest of digests) hot.metas.delete(digest);
    },
  });
  batcher.start();
  let closing: Promise<void> | undefined;
  const ctx: StoreContext = {
    ...base,
    batcher,
    hot,
    openFiles: createOpenFiles(),
    assertOpen() {
      if (closing !== undefined) throw new BlobStoreError('STORE_CLOSED', `blob store ${root} is closed`);
    },
  };
  return {
    ...blobMethods(ctx),
    ...refMethods(db, ctx.hot),
    ...maintenanceMethods(ctx),
    close() {
      closing ??= closeStore(ctx);
      return closing;
    },
  };
}

async function recoverAtStart(ctx: CheckContext): Promise<void> {
  const { missingFiles, unindexedFiles, tempFiles, checked } = await runCheck(ctx, { repair: true });
  const log = { root: ctx.root, checked, tempFiles, missingFiles: missingFiles.length, unindexedFiles: unindexedFiles.length };
  if (missingFiles.length + unindexedFiles.length + tempFiles > 0) ctx.logger.warn(log, 'blob-store: recovered from an unclean shutdown');
  else ctx.logger.debug(log, 'blob-store: recovery found nothing to fix');
}

type BlobMethods = Pick<BlobStore, 'root' | 'path' | 'stat' | 'createReadStream' | 'readBytes' | 'openBlob' | 'beginWrite' | 'putBytes' | 'touch' | 'delete' | 'blobs'>;

function blobMethods(ctx: StoreContext): BlobMethods {
  const { root, db, batcher } = ctx;
  const beginWrite: BlobStore['beginWrite'] = async (digest, opts) => {
    ctx.assertOpen();
    const writer = await openBlobWriter(ctx, digest, opts);
    const commit = writer.commit.bind(writer);
    // A commit (re)writes the index entry: the hot copy of its metadata is no longer current.
    return Object.assign(writer, {
      commit: async () => {
        try {
          return await commit();
        } finally {
          ctx.hot.metas.delete(digest);
        }
      },
    });
  };
  return {
    root,
    path: (digest) => blobPath(root, digest),
    async stat(digest) {
      const hot = ctx.hot.metas.get(digest);
      if (hot !== undefined) return batcher.merge(hot);
      const since = ctx.hot.stamp();
      return batcher.settled(
        () => getMeta(db, digest),
        (meta) => {
          if (meta === undefined) return undefined;
          ctx.hot.metas.fill(digest, meta, since);
          return batcher.merge(meta);
        },
      );
    },
    createReadStream: (digest, range) => openBlobStream(blobPath(root, digest), digest, range),
    openBlob: (digest) => ctx.openFiles.acquire(digest, blobPath(root, digest)),
    async readBytes(digest) {
      const cached = ctx.hot.bytes.get(digest);
      if (cached !== undefined) return cached;
      const since = ctx.hot.stamp();
      const bytes = await readBlobBytes(blobPath(root, digest), digest);
      if (bytes.length <= HOT_BYTES_MAX_BLOB) ctx.hot.bytes.fill(digest, bytes, since);
      return bytes;
    },
    beginWrite,
    async putBytes(digest, bytes, opts) {
      const writer = await beginWrite(digest, { ...opts, expectedSize: bytes.byteLength });
      try {
        await writer.write(bytes);
        return await writer.commit();
      } finally {
        await writer.abort(); // a no-op after a successful commit
      }
    },
    touch: (digest) => batcher.touch(digest),
    async delete(digest: Digest) {
      ctx.assertOpen();
      batcher.forget(digest);
      ctx.hot.forgetBlob(digest);
      try {
        return await removeBlob(ctx, digest);
      } finally {
        ctx.hot.forgetBlob(digest);
        // After the unlink: a descriptor lent until then named the blob's bytes, and one opened
        // during the delete is forgotten too, so no inode outlives the blob beyond its readers.
        ctx.openFiles.forget(digest);
      }
    },
    blobs: () => mergedMetas(ctx),
  };
}

type MaintenanceMethods = Pick<BlobStore, 'check' | 'counters' | 'addCounters' | 'flush'>;

function maintenanceMethods(ctx: StoreContext): MaintenanceMethods {
  return {
    async check(opts) {
      ctx.assertOpen();
      try {
        return await runCheck(ctx, opts);
      } finally {
        // A repair may have dropped or re-indexed anything.
        if (opts?.repair) {
          ctx.hot.clear();
          ctx.openFiles.clear();
        }
      }
    },
    counters: () => readCounters(ctx),
    addCounters: (deltas) => ctx.batcher.addCounters(deltas),
    flush: () => ctx.batcher.flush(),
  };
}

/** Every entry with its hits: the batches written during a long listing count too (a view, not `merge`). */
async function* mergedMetas(ctx: StoreContext): AsyncGenerator<BlobMeta> {
  const view = await ctx.batcher.view(() => iterateMetas(ctx.db));
  try {
    for await (const meta of view.value) yield view.merge(meta);
  } finally {
    view.close();
  }
}

/** The stored counters plus what the batcher holds (settled: without it, a stats read once showed zero traffic). */
function readCounters(ctx: StoreContext): Promise<Record<string, number>> {
  const read = async (): Promise<Record<string, number>> => {
    const stored: Record<string, number> = {};
    for await (const [key, value] of ctx.db.iterator(COUNTER_RANGE)) stored[key.slice(2)] = decodeCounter(value);
    return stored;
  };
  return ctx.batcher.settled(read, (stored) => ctx.batcher.mergeCounters(stored));
}

/** Stops the timer, writes what the batcher holds, closes LevelDB (releasing its lock). */
async function closeStore(ctx: StoreContext): Promise<void> {
  ctx.batcher.stop();
  // Unheld descriptors close now; those a reader holds, at its close().
  ctx.openFiles.clear();
  try {
    await ctx.batcher.flush();
  } catch (error) {
    ctx.logger.error({ err: error, root: ctx.root }, 'blob-store: final access flush failed');
  }
  await ctx.db.close();
}
