import { describe, expect, it } from 'vitest';
import { createChunkPool } from '../src/upstream/chunk-pool.js';

/** Simulates one socket read of `n` bytes filled with `fill`. */
function read(pool: ReturnType<typeof createChunkPool>, n: number, fill: number): Buffer {
  pool.next().fill(fill, 0, n);
  return pool.take(n);
}

describe('the chunk pool of a plain-http body', () => {
  it('packs reads into a slab and never hands out bytes that are still lent', () => {
    const pool = createChunkPool({ slabs: 2, slabBytes: 256 * 1024 });
    const a = read(pool, 100 * 1024, 1);
    const b = read(pool, 100 * 1024, 2);
    expect(a.buffer).toBe(b.buffer);
    // 56 KiB left in slab 1 (< one 64 KiB read): the next read starts slab 2.
    const c = read(pool, 200 * 1024, 3);
    expect(c.buffer).not.toBe(a.buffer);
    expect(pool.held()).toBe(2);
    // Slab 2 is current and slab 1 still lent: the pool grows by one and is overdrawn.
    const d = read(pool, 100 * 1024, 4);
    expect(pool.held()).toBe(3);
    expect(pool.overdrawn()).toBe(true);
    expect([a, b, c, d].map((x) => x.every((byte) => byte === x[0]))).toEqual([true, true, true, true]);
    expect([a[0], b[0], c[0], d[0]]).toEqual([1, 2, 3, 4]);
  });

  it('ends an overdraft once a slab comes back, and reuses free slabs before growing', () => {
    const pool = createChunkPool({ slabs: 2, slabBytes: 128 * 1024 });
    let restored = 0;
    pool.onRestored(() => (restored += 1));
    const a = read(pool, 100 * 1024, 1); // slab 1
    const b = read(pool, 100 * 1024, 2); // slab 2
    const c = read(pool, 100 * 1024, 3); // neither free: slab 3, overdrawn
    expect(pool.overdrawn()).toBe(true);
    pool.release(a);
    pool.release(b);
    // Slab 1 free again: the overdraft ends, said once; a free slab is dropped, not kept.
    expect(restored).toBe(1);
    expect(pool.held()).toBe(2);
    expect(pool.overdrawn()).toBe(false);
    pool.release(a);
    pool.release(c);
    // Nothing lent: reads go round the same slabs, never past the pool's size.
    for (let i = 0; i < 20; i++) pool.release(read(pool, 100 * 1024, i));
    expect(pool.held()).toBe(2);
    expect(pool.overdrawn()).toBe(false);
  });

  it('ignores buffers that are not its own and releases that come twice', () => {
    const pool = createChunkPool({ slabs: 1, slabBytes: 128 * 1024 });
    const a = read(pool, 70 * 1024, 1);
    pool.release(Buffer.alloc(10));
    pool.release(a);
    pool.release(a);
    const b = read(pool, 70 * 1024, 2);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.overdrawn()).toBe(false);
  });
});
