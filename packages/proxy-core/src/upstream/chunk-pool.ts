/**
 * A few reused slabs that a socket reads into (net's `onread`), for blob bodies from a plain
 * HTTP upstream. Node's own socket reads allocate a fresh 64 KiB buffer per read; at the
 * speed of a loopback or LAN upstream that is thousands of buffers per 256 MiB for V8 to
 * collect, and each hashed and written on its own. Here a read lands in the free tail of a
 * slab (up to 1 MiB at once when the fill is behind), and the chunk is *lent*: it stays valid
 * until the consumer hands it back with `release()`, after which its bytes may be overwritten.
 *
 *   slab 0  [chunk a][chunk b][ next read → ........ ]   current
 *   slab 1  [chunk c (lent)        ][ ............... ]   waits for c's release
 *   slab 2  [ ...................................... ]   free: next when slab 0 is full
 *
 * A slab is reused only when none of its chunks is still lent and it is not the current one.
 * When no slab is free the pool grows by one and says so (`overdrawn()`): the reader must
 * pause until releases bring it back to its size, so a pool holds at most `slabs + 1` slabs.
 */

const MIN_READ = 64 * 1024;

export interface ChunkPool {
  /** Where the next read goes: the free tail of the current slab (at least 64 KiB). */
  next(): Buffer;
  /** The first `n` bytes of the region `next()` returned now hold data: that chunk, lent. */
  take(n: number): Buffer;
  /** A lent chunk comes back; its bytes may be reused from now on. */
  release(chunk: Buffer): void;
  /** More slabs than the pool's size exist: the reader should wait for releases. */
  overdrawn(): boolean;
  /** Called after a release that ended the overdraft. */
  onRestored(listener: () => void): void;
  /** Slabs held now (for tests and limits). */
  held(): number;
}

interface Slab {
  bytes: Buffer;
  used: number;
  lent: number;
}

export function createChunkPool(opts: { slabs: number; slabBytes: number }): ChunkPool {
  const slabs: Slab[] = [];
  const byMemory = new Map<ArrayBufferLike, Slab>();
  let current = addSlab();
  let restored: (() => void) | undefined;

  function addSlab(): Slab {
    // allocUnsafeSlow: a slab of its own (never a view into Node's shared small-buffer pool), so
    // `chunk.buffer` names exactly one slab.
    const slab: Slab = { bytes: Buffer.allocUnsafeSlow(opts.slabBytes), used: 0, lent: 0 };
    slabs.push(slab);
    byMemory.set(slab.bytes.buffer, slab);
    return slab;
  }

  function dropSlab(slab: Slab): void {
    slabs.splice(slabs.indexOf(slab), 1);
    byMemory.delete(slab.bytes.buffer);
  }

  function advance(): void {
    const free = slabs.find((slab) => slab !== current && slab.lent === 0) ?? (current.lent === 0 ? current : undefined);
    current = free ?? addSlab();
    current.used = 0;
  }

  return {
    next() {
      if (current.bytes.length - current.used < MIN_READ) advance();
      return current.bytes.subarray(current.used);
    },
    take(n) {
      const chunk = current.bytes.subarray(current.used, current.used + n);
      current.used += n;
      current.lent += 1;
      return chunk;
    },
    release(chunk) {
      const slab = byMemory.get(chunk.buffer);
      if (slab === undefined || slab.lent === 0) return;
      slab.lent -= 1;
      if (slab.lent > 0 || slab === current || slabs.length <= opts.slabs) return;
      dropSlab(slab);
      if (slabs.length <= opts.slabs) restored?.();
    },
    overdrawn: () => slabs.length > opts.slabs,
    onRestored(listener) {
      restored = listener;
    },
    held: () => slabs.length,
  };
}
