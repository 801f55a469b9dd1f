/**
 * A per-key async mutex: `run(key, fn)` runs fn after every earlier fn of the same key has
 * settled. The store uses it to serialise what must not interleave for one digest (commit's
 * rename + index put against delete's unlink + index delete), and, under one reserved key,
 * the read-modify-write updates of index entries (commit, delete, the access flush).
 * Lock order is always digest first, index second, so the two never deadlock.
 */
export interface KeyedLock {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

function ignore(): void {
  // settled either way
}

export function createKeyedLock(): KeyedLock {
  const tails = new Map<string, Promise<void>>();
  return {
    run<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(fn);
      const tail = result.then(ignore, ignore);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
  };
}

/** The lock key serialising read-modify-write of index entries. */
export const INDEX_LOCK = '\x00index';
