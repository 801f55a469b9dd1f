/**
 * Automatic eviction: the store's size is tracked as it grows (every commit adds its bytes),
 * and when it passes the high watermark of the budget (`storage.highWatermark` ×
 * `storage.maxSize`), gc runs — debounced, one at a time — evicting least recently used
 * blobs down to the low watermark. So the disk never fills and the cache never stops: it
 * forgets its coldest content instead.
 *
 * The tracked size is an estimate between scans (a manifest stored twice counts twice); each
 * eviction check re-scans the index for the real size before deciding.
 *
 * A pass can end still over the high watermark: what it would have evicted was in use (a read,
 * a fill's clients, a blob committed in the last seconds — the content just pulled, often).
 * Then it tries again by itself, RETRY_MS later and backing off to RETRY_MAX_MS, until one
 * gets under: nothing else may grow the store to trigger it.
 */
import type { BlobStore } from '@regcache/blob-store';
import type { Logger } from './logger.js';
import { formatBytes } from './units.js';

export interface SizeTracker {
  /** The last known size in bytes (undefined before the first scan). */
  current(): number | undefined;
  /** Scans the index for the real size. */
  refresh(): Promise<number>;
  grew(bytes: number): void;
  set(bytes: number): void;
}

/** The real size: the sum of every indexed blob's size. */
export async function measureStore(store: Pick<BlobStore, 'blobs'>): Promise<number> {
  let size = 0;
  for await (const meta of store.blobs()) size += meta.size;
  return size;
}

export function createSizeTracker(scan: () => Promise<number>): SizeTracker {
  let size: number | undefined;
  return {
    current: () => size,
    async refresh() {
      size = await scan();
      return size;
    },
    grew(bytes) {
      if (size !== undefined) size += bytes;
    },
    set(bytes) {
      size = bytes;
    },
  };
}

export interface AutoEvictionOptions {
  size: SizeTracker;
  maxSize: number;
  highWatermark: number;
  lowWatermark: number;
  debounceMs: number;
  /** Runs gc down to `targetBytes`; resolves with the size after. */
  evict(targetBytes: number): Promise<{ sizeAfter: number; freedBytes: number; removed: number }>;
  logger: Logger;
}

/** The first retry of a pass that ended over the high watermark: past the 2 s commit pins. */
export const RETRY_MS = 5_000;
export const RETRY_MAX_MS = 60_000;

export interface AutoEviction {
  /** The store grew (a commit): check the watermark, debounced. */
  grew(bytes: number): void;
  /** Scan once at start; evicts if the store is already over the high watermark. */
  start(): void;
  close(): Promise<void>;
}

/**
 * One check: measure; over the high watermark, evict down to the low one and log what happened.
 * Resolves true when the store is still over the high watermark after it (a retry is due).
 */
async function evictOnce(opts: AutoEvictionOptions, high: number, low: number, closed: () => boolean, retryMs: number): Promise<boolean> {
  try {
    const size = await opts.size.refresh();
    if (closed() || size <= high) return false;
    const result = await opts.evict(low);
    opts.size.set(result.sizeAfter);
    const over = result.sizeAfter > high;
    const log = { before: size, after: result.sizeAfter, removed: result.removed, freed: result.freedBytes, maxSize: opts.maxSize };
    const line = `eviction: store was ${formatBytes(size)} (over ${formatBytes(high)}); now ${formatBytes(result.sizeAfter)}`;
    if (over) opts.logger.warn({ ...log, retryMs }, `${line}, still over: what is left is in use; trying again in ${retryMs / 1000} s`);
    else opts.logger.info(log, line);
    return over;
  } catch (error) {
    if (!closed()) opts.logger.error({ err: String(error) }, 'eviction failed');
    return false;
  }
}

export function createAutoEviction(opts: AutoEvictionOptions): AutoEviction {
  const high = Math.floor(opts.maxSize * opts.highWatermark);
  const low = Math.floor(opts.maxSize * opts.lowWatermark);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  /** The wait before the next retry of a pass that ended over the watermark (backs off). */
  let retryMs = RETRY_MS;
  const isClosed = (): boolean => closed;
  const over = (): boolean => (opts.size.current() ?? 0) > high;
  const settle = (work: Promise<boolean>): void => {
    running = work.then((stillOver) => {
      running = undefined;
      const recheck = again;
      again = false;
      if (stillOver) {
        const wait = retryMs;
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
        schedule(wait);
      } else {
        retryMs = RETRY_MS;
        if (recheck && over()) schedule();
      }
    });
  };

  function schedule(delayMs = opts.debounceMs): void {
    if (closed) return;
    if (timer !== undefined || running !== undefined) {
      again = true;
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      settle(evictOnce(opts, high, low, isClosed, retryMs));
    }, delayMs);
    timer.unref();
  }

  return {
    grew(bytes) {
      opts.size.grew(bytes);
      if (over()) schedule();
    },
    start() {
      again = true;
      settle(opts.size.refresh().then(
        () => false,
        (error: unknown) => {
          if (!closed) opts.logger.warn({ err: String(error) }, 'eviction: could not measure the store');
          return false;
        },
      ));
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
