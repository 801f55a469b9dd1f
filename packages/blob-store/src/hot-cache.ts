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

/** A Map kept in recency order: get() moves an entry to the back, set() evicts from the front. */
export interface Lru<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): void;
  clear(): void;
}

export function createLru<K, V>(maxEntries: number, weigh: (value: V) => number = () => 1, maxWeight = maxEntries): Lru<K, V> {
  const entries = new Map<K, V>();
  let weight = 0;
  const remove = (key: K): void => {
    const value = entries.get(key);
    if (value === undefined) return;
    entries.delete(key);
    weight -= weigh(value);
  };
  return {
    get(key) {
      const value = entries.get(key);
      if (value !== undefined) {
        entries.delete(key);
        entries.set(key, value);
      }
      return value;
    },
    set(key, value) {
      remove(key);
      entries.set(key, value);
      weight += weigh(value);
      for (const oldest of entries.keys()) {
        if (weight <= maxWeight && entries.size <= maxEntries) break;
        remove(oldest);
      }
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

export interface HotCache {
  readonly metas: Lru<Digest, BlobMeta>;
  readonly links: Lru<string, true>;
  readonly tags: Lru<string, TagRecord>;
  readonly bytes: Lru<Digest, Buffer>;
  /** A blob left the store: forget its metadata, bytes and (all) links. */
  forgetBlob(digest: Digest): void;
  clear(): void;
}

export function createHotCache(opts: { entries?: number; bytes?: number } = {}): HotCache {
  const entries = opts.entries ?? 50_000;
  const metas = createLru<Digest, BlobMeta>(entries);
  const links = createLru<string, true>(entries * 4);
  const tags = createLru<string, TagRecord>(entries);
  const bytes = createLru<Digest, Buffer>(entries, (b) => b.length, opts.bytes ?? 64 * 1024 * 1024);
  return {
    metas,
    links,
    tags,
    bytes,
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
