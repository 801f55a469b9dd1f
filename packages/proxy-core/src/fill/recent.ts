/**
 * The last few MiB a fill received, kept in memory. Clients that keep up with a fill — the
 * common case when a rollout pulls a new layer on many nodes at once — read from here, not
 * from the temp file: no disk read and no thread-pool round trip per chunk, so followers do
 * not compete with the fill's own writes for libuv's thread pool. A client that falls behind
 * the window reads the file instead. Bounded: at most RECENT_BYTES plus one chunk.
 */
export const RECENT_BYTES = 8 * 1024 * 1024;

export interface RecentBytes {
  /** Record `chunk`, which now sits in the temp file right after everything before it. */
  add(chunk: Buffer): void;
  /** Up to `max` bytes at `position` without copying, or undefined if they have left the window. */
  slice(position: number, max: number): Buffer | undefined;
}

export function createRecentBytes(limit = RECENT_BYTES): RecentBytes {
  const chunks: Buffer[] = [];
  const offsets: number[] = [];
  let end = 0;
  let held = 0;
  return {
    add(chunk) {
      chunks.push(chunk);
      offsets.push(end);
      end += chunk.length;
      held += chunk.length;
      while (chunks.length > 1 && held - (chunks[0] as Buffer).length >= limit) {
        held -= (chunks.shift() as Buffer).length;
        offsets.shift();
      }
    },
    slice(position, max) {
      if (chunks.length === 0 || position < (offsets[0] as number) || position >= end) return undefined;
      // Chunks are few (the window over chunk size); search from the newest, where followers read.
      for (let i = chunks.length - 1; i >= 0; i--) {
        const start = offsets[i] as number;
        if (position < start) continue;
        const chunk = chunks[i] as Buffer;
        return chunk.subarray(position - start, Math.min(chunk.length, position - start + max));
      }
      return undefined;
    },
  };
}
