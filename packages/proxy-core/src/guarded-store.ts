/**
 * The store as the cache uses it: the blob store, plus a record of which blobs are in use so
 * that gc and eviction never remove a blob a request is reading, plus a hook on every commit
 * (the store grew: the size tracker and automatic eviction hear of it).
 *
 * A request reads a stored blob in two steps: `stat()` (is it there?) and, a little later,
 * `createReadStream()` or `readBytes()`. Both count as use:
 *   - a successful stat pins the digest until a read starts (or `lookPinMs` passes, for a
 *     HEAD or a stat that is never followed by a read); the pin is taken *before* the index
 *     is asked, so a stat racing a removal either pins first or sees the blob gone;
 *   - a read pins it until its stream closes (an fd already open would survive an unlink,
 *     but the pin keeps the count honest and the file in place for the reader);
 *   - a blob just committed is pinned like a stat, so a client joining its fill can still
 *     open the final path.
 * `removeUnlessInUse` checks the pins and starts the delete in the same tick; a stat of that
 * digest arriving meanwhile waits for the delete and then sees the blob gone (a miss, not a
 * broken read).
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta, BlobStore } from '@regcache/blob-store';

export interface BlobUsage {
  inUse(digest: Digest): boolean;
  /** Removes the blob (file, entry, links) unless it is in use right now. */
  removeUnlessInUse(digest: Digest): Promise<'removed' | 'in-use' | 'absent'>;
}

export interface GuardedStore extends BlobStore {
  readonly usage: BlobUsage;
  /** stat() without pinning: for maintenance, which does not read the blob after. */
  peek(digest: Digest): Promise<BlobMeta | undefined>;
  /** Called with the metadata of every committed write (fills and manifests). */
  onCommit(listener: (meta: BlobMeta) => void): void;
}

const DEFAULT_LOOK_PIN_MS = 30_000;
const SWEEP_AT = 10_000;

interface Pins {
  look(digest: Digest): void;
  unlook(digest: Digest): void;
  startRead(digest: Digest): void;
  endRead(digest: Digest): void;
  inUse(digest: Digest): boolean;
}

function createPins(lookPinMs: number): Pins {
  const reads = new Map<Digest, number>();
  const looks = new Map<Digest, number[]>();
  const live = (digest: Digest): number[] => {
    const now = Date.now();
    const kept = (looks.get(digest) ?? []).filter((until) => until > now);
    if (kept.length === 0) looks.delete(digest);
    else looks.set(digest, kept);
    return kept;
  };
  const dropOne = (digest: Digest): void => {
    const kept = live(digest);
    kept.shift();
    if (kept.length === 0) looks.delete(digest);
  };
  return {
    look(digest) {
      if (looks.size > SWEEP_AT) for (const key of [...looks.keys()]) live(key);
      looks.set(digest, [...(looks.get(digest) ?? []), Date.now() + lookPinMs]);
    },
    unlook: dropOne,
    startRead(digest) {
      dropOne(digest);
      reads.set(digest, (reads.get(digest) ?? 0) + 1);
    },
    endRead(digest) {
      const left = (reads.get(digest) ?? 1) - 1;
      if (left > 0) reads.set(digest, left);
      else reads.delete(digest);
    },
    inUse: (digest) => (reads.get(digest) ?? 0) > 0 || live(digest).length > 0,
  };
}

export function guardStore(inner: BlobStore, opts: { lookPinMs?: number } = {}): GuardedStore {
  const pins = createPins(opts.lookPinMs ?? DEFAULT_LOOK_PIN_MS);
  const deleting = new Map<Digest, Promise<boolean>>();
  const listeners: Array<(meta: BlobMeta) => void> = [];
  const committed = (meta: BlobMeta): BlobMeta => {
    pins.look(meta.digest);
    for (const listener of listeners) listener(meta);
    return meta;
  };

  const usage: BlobUsage = {
    inUse: (digest) => pins.inUse(digest),
    async removeUnlessInUse(digest) {
      if (pins.inUse(digest) || deleting.has(digest)) return 'in-use';
      const removal = inner.delete(digest);
      deleting.set(digest, removal);
      try {
        return (await removal) ? 'removed' : 'absent';
      } finally {
        deleting.delete(digest);
      }
    },
  };

  return {
    ...inner,
    usage,
    peek: (digest) => inner.stat(digest),
    onCommit: (listener) => void listeners.push(listener),
    async stat(digest) {
      for (let pending = deleting.get(digest); pending; pending = deleting.get(digest)) await pending.catch(() => false);
      pins.look(digest);
      const meta = await inner.stat(digest).catch((error: unknown) => {
        pins.unlook(digest);
        throw error;
      });
      if (meta === undefined) pins.unlook(digest);
      return meta;
    },
    createReadStream(digest, range) {
      pins.startRead(digest);
      let stream;
      try {
        stream = inner.createReadStream(digest, range);
      } catch (error) {
        pins.endRead(digest);
        throw error;
      }
      stream.once('close', () => pins.endRead(digest));
      return stream;
    },
    async readBytes(digest) {
      pins.startRead(digest);
      try {
        return await inner.readBytes(digest);
      } finally {
        pins.endRead(digest);
      }
    },
    async beginWrite(digest, writeOpts) {
      const writer = await inner.beginWrite(digest, writeOpts);
      const commit = writer.commit.bind(writer);
      return Object.assign(writer, { commit: async () => committed(await commit()) });
    },
    putBytes: async (digest, bytes, putOpts) => committed(await inner.putBytes(digest, bytes, putOpts)),
  };
}
