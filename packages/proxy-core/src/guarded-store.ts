/**
 * The store as the cache uses it: the blob store, plus a record of which blobs are in use so
 * that gc and eviction never remove a blob a request is reading, plus a hook on every commit
 * (the store grew: the size tracker and automatic eviction hear of it).
 *
 * A request reads a stored blob in two steps: `stat()` (is it there?) and, a little later,
 * `createReadStream()`, `openBlob()` or `readBytes()`. Each counts as use:
 *   - a successful stat pins the digest until a read starts (or `lookPinMs` passes, for a
 *     HEAD or a stat that is never followed by a read); the pin is taken *before* the index
 *     is asked, so a stat racing a removal either pins first or sees the blob gone;
 *   - a read pins it until its stream (or open blob) closes (an fd already open would survive
 *     an unlink, but the pin keeps the count honest and the file in place for the reader);
 *   - a blob just committed is pinned for `commitPinMs` (2 s), so a client that joined its
 *     fill just before the commit can still open the final path;
 *   - a client following a fill holds the blob (`usage.hold`) until its transfer ends: it
 *     reads the file after the commit, and a slow one for long after.
 * `removeUnlessInUse` checks the pins and starts the delete in the same tick; a stat of that
 * digest arriving meanwhile waits for the delete and then sees the blob gone (a miss, not a
 * broken read).
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta, BlobStore } from '@regcache/blob-store';

export interface BlobUsage {
  inUse(digest: Digest): boolean;
  /**
   * Marks the blob in use until the returned function is called (once): a client following a
   * fill reads its file after the commit, for as long as its transfer takes.
   */
  hold(digest: Digest): () => void;
  /** Removes the blob (file, entry, links) unless it is in use right now. */
  removeUnlessInUse(digest: Digest): Promise<'removed' | 'in-use' | 'absent'>;
  /**
   * Removes a blob whose file is gone or is not the blob's size (deleted or cut outside
   * regcache), in use or not — whatever reads it is broken already — so the next request
   * fetches it again instead of failing until a restart's repair.
   */
  dropDamaged(digest: Digest): Promise<void>;
}

export interface GuardedStore extends BlobStore {
  readonly usage: BlobUsage;
  /** stat() without pinning: for maintenance, which does not read the blob after. */
  peek(digest: Digest): Promise<BlobMeta | undefined>;
  /** Called with the metadata of every committed write (fills and manifests). */
  onCommit(listener: (meta: BlobMeta) => void): void;
  /** Called before a blob's removal starts (gc, eviction): copies of it must go first. */
  onRemove(listener: (digest: Digest) => void): void;
  /** Called before a tag is written or deleted. */
  onTagChange(listener: (upstream: string, repo: string, tag: string) => void): void;
}

const DEFAULT_LOOK_PIN_MS = 30_000;
const DEFAULT_COMMIT_PIN_MS = 2_000;
const SWEEP_AT = 10_000;
const SWEEP_INTERVAL_MS = 1000;

interface Pins {
  look(digest: Digest): void;
  committed(digest: Digest, ms: number): void;
  unlook(digest: Digest): void;
  startRead(digest: Digest): void;
  /** A read that did not start with a stat (no look pin to replace). */
  hold(digest: Digest): void;
  endRead(digest: Digest): void;
  inUse(digest: Digest): boolean;
}

/** Pins that lapse: per digest, the times until which each pin holds. */
interface TimedPins {
  add(digest: Digest, ms: number): void;
  /** Releases the pin that would lapse first. */
  dropOne(digest: Digest): void;
  held(digest: Digest): boolean;
}

function createTimedPins(): TimedPins {
  const pins = new Map<Digest, number[]>();
  const live = (digest: Digest): number[] => {
    const now = Date.now();
    const kept = (pins.get(digest) ?? []).filter((until) => until > now);
    if (kept.length === 0) pins.delete(digest);
    else pins.set(digest, kept);
    return kept;
  };
  let swept = 0;
  return {
    add(digest, ms) {
      // Pins nobody releases (a HEAD, a stat with no read) lapse; sweep them now and then.
      if (pins.size > SWEEP_AT && Date.now() - swept > SWEEP_INTERVAL_MS) {
        swept = Date.now();
        for (const key of [...pins.keys()]) live(key);
      }
      pins.set(digest, [...live(digest), Date.now() + ms].sort((a, b) => a - b));
    },
    dropOne(digest) {
      const kept = live(digest);
      kept.shift();
      if (kept.length === 0) pins.delete(digest);
    },
    held: (digest) => live(digest).length > 0,
  };
}

function createPins(lookPinMs: number): Pins {
  const reads = new Map<Digest, number>();
  const looks = createTimedPins();
  const commits = createTimedPins();
  return {
    look: (digest) => looks.add(digest, lookPinMs),
    committed: (digest, ms) => commits.add(digest, ms),
    unlook: (digest) => looks.dropOne(digest),
    startRead(digest) {
      looks.dropOne(digest);
      reads.set(digest, (reads.get(digest) ?? 0) + 1);
    },
    hold: (digest) => void reads.set(digest, (reads.get(digest) ?? 0) + 1),
    endRead(digest) {
      const left = (reads.get(digest) ?? 1) - 1;
      if (left > 0) reads.set(digest, left);
      else reads.delete(digest);
    },
    inUse: (digest) => (reads.get(digest) ?? 0) > 0 || looks.held(digest) || commits.held(digest),
  };
}

type Deleting = Map<Digest, Promise<boolean>>;

function createUsage(inner: BlobStore, pins: Pins, deleting: Deleting, removing: (digest: Digest) => void): BlobUsage {
  /** Starts the delete in this tick (copies first); a stat of the digest meanwhile waits for it. */
  const remove = async (digest: Digest): Promise<boolean> => {
    removing(digest);
    const removal = inner.delete(digest);
    deleting.set(digest, removal);
    try {
      return await removal;
    } finally {
      deleting.delete(digest);
    }
  };
  return {
    inUse: (digest) => pins.inUse(digest),
    hold(digest) {
      pins.hold(digest);
      let held = true;
      return () => {
        if (held) pins.endRead(digest);
        held = false;
      };
    },
    async removeUnlessInUse(digest) {
      if (pins.inUse(digest) || deleting.has(digest)) return 'in-use';
      return (await remove(digest)) ? 'removed' : 'absent';
    },
    async dropDamaged(digest) {
      const underway = deleting.get(digest);
      await (underway ?? remove(digest));
    },
  };
}

type ReadMethods = Pick<BlobStore, 'stat' | 'createReadStream' | 'readBytes' | 'openBlob'>;

/** stat, stream and read, each pinning the digest for as long as it is in use. */
function pinnedReads(inner: BlobStore, pins: Pins, deleting: Deleting): ReadMethods {
  return {
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
    async openBlob(digest) {
      pins.startRead(digest);
      try {
        const blob = await inner.openBlob(digest);
        let closed = false;
        return {
          fd: blob.fd,
          size: blob.size,
          close: () => {
            if (!closed) pins.endRead(digest);
            closed = true;
            return blob.close();
          },
        };
      } catch (error) {
        pins.endRead(digest);
        throw error;
      }
    },
    async readBytes(digest) {
      pins.startRead(digest);
      try {
        return await inner.readBytes(digest);
      } finally {
        pins.endRead(digest);
      }
    },
  };
}

export function guardStore(inner: BlobStore, opts: { lookPinMs?: number; commitPinMs?: number } = {}): GuardedStore {
  const pins = createPins(opts.lookPinMs ?? DEFAULT_LOOK_PIN_MS);
  const deleting: Deleting = new Map();
  const listeners: Array<(meta: BlobMeta) => void> = [];
  const removeListeners: Array<(digest: Digest) => void> = [];
  const tagListeners: Array<(upstream: string, repo: string, tag: string) => void> = [];
  const tagChanging = (upstream: string, repo: string, tag: string): void => {
    for (const listener of tagListeners) listener(upstream, repo, tag);
  };
  const removing = (digest: Digest): void => {
    for (const listener of removeListeners) listener(digest);
  };
  const committed = (meta: BlobMeta): BlobMeta => {
    pins.committed(meta.digest, opts.commitPinMs ?? DEFAULT_COMMIT_PIN_MS);
    for (const listener of listeners) listener(meta);
    return meta;
  };
  return {
    ...inner,
    ...pinnedReads(inner, pins, deleting),
    usage: createUsage(inner, pins, deleting, removing),
    peek: (digest) => inner.stat(digest),
    onCommit: (listener) => void listeners.push(listener),
    onRemove: (listener) => void removeListeners.push(listener),
    onTagChange: (listener) => void tagListeners.push(listener),
    async check(checkOpts) {
      const report = await inner.check(checkOpts);
      // A repair deleted what it found corrupt or missing: copies of those must go too.
      if (report.repaired) for (const digest of [...report.corrupt, ...report.missingFiles]) removing(digest);
      return report;
    },
    putTag(upstream, repo, tag, record) {
      tagChanging(upstream, repo, tag);
      return inner.putTag(upstream, repo, tag, record);
    },
    deleteTag(upstream, repo, tag) {
      tagChanging(upstream, repo, tag);
      return inner.deleteTag(upstream, repo, tag);
    },
    async beginWrite(digest, writeOpts) {
      const writer = await inner.beginWrite(digest, writeOpts);
      const commit = writer.commit.bind(writer);
      return Object.assign(writer, { commit: async () => committed(await commit()) });
    },
    putBytes: async (digest, bytes, putOpts) => committed(await inner.putBytes(digest, bytes, putOpts)),
  };
}
