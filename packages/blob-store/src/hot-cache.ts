/**
 * The in-memory layer over the index, so that a hot hit costs no LevelDB read: blob metadata,
 * repository links and tag records, plus the bytes of small blobs (manifests). All bounded
 * (least recently used goes first) and kept coherent by the store itself — it is the only
 * writer of its index (LevelDB is single-process), and every write goes through it:
 * link/putTag/deleteTag update the cache, delete() drops the digest everywhere.
 *
 * Only positive answers are cached: a miss always asks LevelDB, so nothing written by a
 * commit can be hidden by a stale "not there".
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta, TagRecord } from './types.js';

/**
 * A bounded map that forgets what was not used lately. A hit only sets a flag (no Map
 * re-insertion: hot hits are the common case and must be cheap); when over its bounds it
 * evicts from the oldest end, giving entries used since they were last looked at a second
 * chance at the newest end ("second chance" / CLOCK, close to LRU).
 */
export interface Lru<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): void;
  clear(): void;
}

interface Slot<V> {
  value: V;
  used: boolean;
}

export function createLru<K, V>(maxEntries: number, weigh: (value: V) => number = () => 1, maxWeight = maxEntries): Lru<K, V> {
  const entries = new Map<K, Slot<V>>();
  let weight = 0;
  const remove = (key: K): void => {
    const slot = entries.get(key);
    if (slot === undefined) return;
    entries.delete(key);
    weight -= weigh(slot.value);
  };
  const shrink = (): void => {
    for (const [key, slot] of entries) {
      if (weight <= maxWeight && entries.size <= maxEntries) return;
      entries.delete(key);
      if (slot.used && entries.size > 0) {
        slot.used = false;
        entries.set(key, slot);
      } else {
        weight -= weigh(slot.value);
      }
    }
  };
  return {
    get(key) {
      const slot = entries.get(key);
      if (slot === undefined) return undefined;
      slot.used = true;
      return slot.value;
    },
    set(key, value) {
      remove(key);
      entries.set(key, { value, used: false });
      weight += weigh(value);
      shrink();
    },
    delete: remove,
    clear() {
      entries.clear();
      weight = 0;
    },
  };
}

/** Blobs up to this size have their bytes kept in memory after a read. */
export const HOT_BYTES_MAX_BLOB = 256 * 1024;

/**
 * One of the hot cache's maps. A reader that read LevelDB puts what it read back with `fill`,
 * stamped with `stamp()` from before its read: if any writer changed the cache since (a commit,
 * a delete, a tag written, a batch of hits), the value may be older than the writer's and is
 * not kept. Writers change the cache after their LevelDB write, so a read that finished first
 * is overwritten, and one that finishes later sees the stamp moved — no stale entry outlives a
 * write.
 */
export interface HotLru<K, V> extends Lru<K, V> {
  fill(key: K, value: V, since: number): void;
}

export interface HotCache {
  readonly metas: HotLru<Digest, BlobMeta>;
  readonly links: HotLru<string, true>;
  readonly tags: HotLru<string, TagRecord>;
  readonly bytes: HotLru<Digest, Buffer>;
  /** Changes made by writers so far (see HotLru). */
  stamp(): number;
  /** A blob left the store: forget its metadata, bytes and (all) links. */
  forgetBlob(digest: Digest): void;
  clear(): void;
}

export function createHotCache(opts: { entries?: number; bytes?: number } = {}): HotCache {
  const entries = opts.entries ?? 50_000;
  let changes = 0;
  const counted = <K, V>(lru: Lru<K, V>): HotLru<K, V> => ({
    get: (key) => lru.get(key),
    set(key, value) {
      changes += 1;
      lru.set(key, value);
    },
    delete(key) {
      changes += 1;
      lru.delete(key);
    },
    clear() {
      changes += 1;
      lru.clear();
    },
    fill(key, value, since) {
      if (since === changes) lru.set(key, value);
    },
  });
  const metas = counted(createLru<Digest, BlobMeta>(entries));
  const links = counted(createLru<string, true>(entries * 4));
  const tags = counted(createLru<string, TagRecord>(entries));
  const bytes = counted(createLru<Digest, Buffer>(entries, (b) => b.length, opts.bytes ?? 64 * 1024 * 1024));
  return {
    metas,
    links,
    tags,
    bytes,
    stamp: () => changes,
    forgetBlob(digest) {
      metas.delete(digest);
      bytes.delete(digest);
      // Links to the digest are not indexed by digest here; deletes are rare (gc), so drop them all.
      links.clear();
    },
    clear() {
      for (const lru of [metas, links, tags, bytes]) lru.clear();
    },
  };
}
