/**
 * Batched access bookkeeping. A cache hit must not cost a LevelDB write, so `touch()` and
 * `addCounters()` only update in-memory maps; `flush()` writes everything accumulated in one
 * LevelDB batch — every `accessFlushIntervalMs`, and on close. A crash loses at most one
 * interval of access times, hit counts and counters: statistics, never content.
 *
 * During a flush the pending maps are swapped out (new touches go to fresh maps) and kept
 * as `inFlight` until the batch is written, so `stat()` always sees every hit; if the write
 * fails they are merged back for the next attempt. A LevelDB read may predate a batch that is
 * written — and so leaves `inFlight` — before the read is merged: `settled()` reads again then.
 * A long iteration cannot read again: `view()` opens it between batches and keeps, for as long
 * as it is open, a copy of every batch written after its snapshot.
 */
import type { Digest } from '@regcache/registry-protocol';
import { blobKey, counterKey, decodeCounter, decodeMeta } from './keys.js';
import { INDEX_LOCK, type KeyedLock } from './keyed-lock.js';
import { putMetaOp, type IndexDb, type IndexOp } from './index-db.js';
import type { BlobMeta, StoreLogger } from './types.js';

interface Access {
  lastAccess: number;
  hits: number;
}

export interface AccessBatcher {
  touch(digest: Digest): void;
  addCounters(deltas: Record<string, number>): void;
  /** `meta` with every not-yet-written hit applied. */
  merge(meta: BlobMeta): BlobMeta;
  /** Counter values with not-yet-written increments applied. */
  mergeCounters(stored: Record<string, number>): Record<string, number>;
  /**
   * `apply(await read())` — a LevelDB read with the unwritten data merged in — read again when a
   * batch was written during the read (the read may predate it, and its data has left the
   * batcher). `apply` runs in the same turn as that check, so no batch lands in between.
   */
  settled<T, R>(read: () => Promise<T>, apply: (value: T) => R): Promise<R>;
  /**
   * Runs `open` (which must take its LevelDB snapshot synchronously, as an iterator does) when no
   * batch is being written, and returns a merge for what it reads: the snapshot plus every batch
   * written since, plus what is unwritten. `close()` when the reading is done.
   */
  view<T>(open: () => T): Promise<AccessView<T>>;
  /** Drops pending hits of a deleted blob. */
  forget(digest: Digest): void;
  flush(): Promise<void>;
  start(): void;
  stop(): void;
}

export interface AccessView<T> {
  value: T;
  merge(meta: BlobMeta): BlobMeta;
  close(): void;
}

function addAccess(into: Map<Digest, Access>, digest: Digest, access: Access): void {
  const prev = into.get(digest);
  into.set(digest, {
    lastAccess: Math.max(prev?.lastAccess ?? 0, access.lastAccess),
    hits: (prev?.hits ?? 0) + access.hits,
  });
}

function addCounts(into: Map<string, number>, deltas: Iterable<[string, number]>): void {
  for (const [name, delta] of deltas) {
    if (Number.isFinite(delta) && delta !== 0) into.set(name, (into.get(name) ?? 0) + delta);
  }
}

async function buildOps(db: IndexDb, access: Map<Digest, Access>, counts: Map<string, number>): Promise<IndexOp[]> {
  const ops: IndexOp[] = [];
  const digests = [...access.keys()];
  const metas = digests.length === 0 ? [] : await db.getMany(digests.map(blobKey));
  metas.forEach((value, i) => {
    const meta = value === undefined ? undefined : decodeMeta(value);
    const hit = access.get(digests[i] as Digest);
    // A blob deleted (or never indexed) since its touch has nothing to update.
    if (meta === undefined || hit === undefined) return;
    ops.push(putMetaOp({ ...meta, lastAccess: Math.max(meta.lastAccess, hit.lastAccess), hits: meta.hits + hit.hits }));
  });
  const names = [...counts.keys()];
  const stored = names.length === 0 ? [] : await db.getMany(names.map(counterKey));
  names.forEach((name, i) => {
    ops.push({ type: 'put', key: counterKey(name), value: String(decodeCounter(stored[i]) + (counts.get(name) ?? 0)) });
  });
  return ops;
}

export interface AccessBatcherOptions {
  db: IndexDb;
  lock: KeyedLock;
  logger: StoreLogger;
  intervalMs: number;
  /** After a batch is written: the metadata of these digests changed in the index. */
  onWritten?: (digests: Iterable<Digest>) => void;
}

export function createAccessBatcher(opts: AccessBatcherOptions): AccessBatcher {
  let pending = new Map<Digest, Access>();
  let pendingCounts = new Map<string, number>();
  let inFlight = new Map<Digest, Access>();
  let inFlightCounts = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let batches = 0;
  /** The write under way, if any (from the swap until `inFlight` is empty again). */
  let writing: Promise<void> | undefined;
  /** Per open view: the batches written since its snapshot. */
  const views = new Set<Map<Digest, Access>>();

  function mergeFrom(meta: BlobMeta, sources: Map<Digest, Access>[]): BlobMeta {
    let merged = meta;
    for (const source of sources) {
      const hit = source.get(meta.digest);
      if (hit !== undefined) merged = { ...merged, lastAccess: Math.max(merged.lastAccess, hit.lastAccess), hits: merged.hits + hit.hits };
    }
    return merged;
  }

  async function writeBatch(): Promise<void> {
    if (pending.size === 0 && pendingCounts.size === 0) return;
    [inFlight, pending] = [pending, new Map()];
    [inFlightCounts, pendingCounts] = [pendingCounts, new Map()];
    try {
      const ops = await buildOps(opts.db, inFlight, inFlightCounts);
      if (ops.length > 0) await opts.db.batch(ops);
      batches += 1;
      for (const view of views) for (const [digest, access] of inFlight) addAccess(view, digest, access);
      // Still inside the swap: readers see inFlight until this returns, so nothing is missed.
      opts.onWritten?.(inFlight.keys());
    } catch (error) {
      for (const [digest, access] of inFlight) addAccess(pending, digest, access);
      addCounts(pendingCounts, inFlightCounts);
      throw error;
    } finally {
      inFlight = new Map();
      inFlightCounts = new Map();
    }
  }

  const flush = (): Promise<void> =>
    opts.lock.run(INDEX_LOCK, () => {
      const write = writeBatch();
      writing = write;
      return write.finally(() => {
        if (writing === write) writing = undefined;
      });
    });

  return {
    touch(digest) {
      addAccess(pending, digest, { lastAccess: Date.now(), hits: 1 });
    },
    addCounters(deltas) {
      addCounts(pendingCounts, Object.entries(deltas));
    },
    merge: (meta) => mergeFrom(meta, [inFlight, pending]),
    async settled(read, apply) {
      for (;;) {
        const before = batches;
        const value = await read();
        if (batches === before) return apply(value);
      }
    },
    async view(open) {
      // A batch whose write is done but whose turn has not come yet may be in the snapshot and
      // in `inFlight` at once: open only between writes.
      while (writing !== undefined) await writing.catch(() => undefined);
      const value = open();
      const since = new Map<Digest, Access>();
      views.add(since);
      return { value, merge: (meta) => mergeFrom(meta, [since, inFlight, pending]), close: () => void views.delete(since) };
    },
    mergeCounters(stored) {
      const merged = new Map(Object.entries(stored));
      addCounts(merged, inFlightCounts);
      addCounts(merged, pendingCounts);
      return Object.fromEntries(merged);
    },
    forget(digest) {
      pending.delete(digest);
      inFlight.delete(digest);
    },
    flush,
    start() {
      timer ??= setInterval(() => {
        flush().catch((error: unknown) => opts.logger.warn({ err: error }, 'blob-store: access flush failed; will retry'));
      }, opts.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
