/**
 * One fill: the upstream body piped through the store's verifying writer into a temp file,
 * with its own lifetime (its own AbortController; a client that leaves does not stop it).
 * Clients follow it through `attach()`; `wait()` wakes them as bytes arrive.
 *
 * It fails as the upstream's timeout when the body stalls (stall.ts: the smaller of the
 * upstream's `timeouts.body` and the engine's `idleTimeoutMs`), and stops when its last client
 * leaves while the blob is larger than `detachedMaxSize` (or detached fills are off). When the
 * disk fails it falls back to pass-through (passthrough.ts) for the clients it already has;
 * when the disk refuses only the commit, the verified bytes are released to them all the same.
 */
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '@regcache/registry-protocol';
import { DigestMismatchError, SizeMismatchError, StoreWriteError, type BlobMeta, type BlobWriter } from '@regcache/blob-store';
import { NativeDiskError, nativeReceiveAvailable, receiveNatively } from './native-receive.js';
import { startPassthrough, type Passthrough } from './passthrough.js';
import { describeError } from '../errors.js';
import { sendfileAvailable } from '../send-file.js';
import { createRecentBytes, RECENT_BYTES } from './recent.js';
import { createStallClock, failureOf } from './stall.js';
import type { Fill, FillEngineOptions, FillReader, FillSource, FillStatus } from './types.js';

/** Why a fill was stopped on purpose (no client wants it any more; shutdown): not a failure. */
export class FillStoppedError extends Error {
  override readonly name = 'FillStoppedError';
}

export interface RunningFillArgs {
  digest: Digest;
  source: FillSource;
  writer: BlobWriter;
  /** Opened on the temp file when the fill began: it stays readable if the store unlinks the file. */
  temp: FileHandle;
  controller: AbortController;
  engine: FillEngineOptions;
  /** The fill can no longer be joined (disk failure): later clients start their own. */
  release: () => void;
  /** Bytes just written to the temp file (the engine's reclaim count). */
  stored?: (bytes: number) => void;
  /** A place for a receive loop (engine.ts, RECEIVE_LOOPS) and the function that frees it; undefined when all are taken. */
  receiveSlot: () => (() => void) | undefined;
}

export function createRunningFill(args: RunningFillArgs): Fill {
  const { digest, source, writer, controller, engine } = args;
  const started = Date.now();
  let status: FillStatus = 'running';
  let failure: unknown;
  let pass: Passthrough | undefined;
  /** The disk refused the commit of verified bytes (see commitOrPass). */
  let refused = false;
  const readers = new Set<FillReader>();
  // Followers served by sendfile read the temp file's pages, never the window: none then.
  const recent = sendfileAvailable() ? undefined : createRecentBytes(RECENT_BYTES);
  // Lent chunks (a pooled upstream body) go back to their pool after the write: what the window
  // or pass-through keeps of one must be a copy.
  const kept = source.release === undefined ? (chunk: Buffer): Buffer => chunk : (chunk: Buffer): Buffer => Buffer.from(chunk);
  /** Clients waiting for bytes past `offset`; woken only when those arrive (or the fill settles). */
  let waiters: Array<{ offset: number; wake: () => void }> = [];
  const notify = (): void => {
    if (waiters.length === 0) return;
    const settled = status !== 'running';
    const upTo = readable();
    const current = waiters;
    waiters = [];
    for (const waiter of current) {
      if (settled || upTo > waiter.offset) waiter.wake();
      else waiters.push(waiter);
    }
  };

  const stall = createStallClock(engine.idleTimeoutMs, (error) => controller.abort(error));

  const total = (): number => (pass ? pass.diskBytes + pass.memBytes() : writer.written);
  const complete = (): boolean => status === 'committed' || status === 'passed';
  /** The digest checked out (the blob is all there); durability and the index may still be pending. */
  let verified = false;
  const readable = (): number => (verified || complete() || source.size === undefined ? total() : Math.min(total(), source.size - 1));

  /** The chunks that arrived while the previous ones were being written: one batched write. */
  async function accept(chunks: Buffer[]): Promise<void> {
    try {
      await store(chunks);
    } finally {
      // Written (or failed, with no write of them still pending in the writer): back to the pool.
      if (source.release !== undefined) for (const chunk of chunks) source.release(chunk);
    }
  }

  /**
   * The disk failed mid-fill: the clients already following go on through memory
   * (passthrough.ts), from the bytes already in the temp file; with none following, the fill fails.
   */
  async function passThrough(error: StoreWriteError): Promise<Passthrough> {
    if (readers.size === 0) throw error;
    pass = await startPassthrough(digest, args.temp, writer.written, readers);
    await writer.abort();
    args.release();
    engine.onDiskError?.(fill, error);
    return pass;
  }

  async function store(chunks: Buffer[]): Promise<void> {
    let through = pass;
    if (through === undefined) {
      try {
        await Promise.all(chunks.map((chunk) => writer.write(chunk)));
        let bytes = 0;
        for (const chunk of chunks) {
          recent?.add(kept(chunk));
          bytes += chunk.length;
        }
        // A lent body reads into its pool: no per-read buffers left for the reclaim to collect.
        if (source.release === undefined) args.stored?.(bytes);
        return;
      } catch (error) {
        if (!(error instanceof StoreWriteError)) throw error;
        through = await passThrough(error);
      }
    }
    // The disk failed on this batch: none of it counts as on disk, all of it goes through memory.
    for (const chunk of chunks) await through.push(kept(chunk));
  }

  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    writev(entries, callback) {
      stall.writing();
      accept(entries.map((entry) => entry.chunk as Buffer)).then(() => {
        stall.written();
        notify();
        callback();
      }, callback);
    },
  });

  /**
   * The store checks size and digest before it writes anything durable, so a StoreWriteError
   * from commit means verified bytes the disk would not keep (full, read-only, failing): the
   * clients following still get them — the fill ends 'passed', nothing stored.
   */
  async function commitOrPass(): Promise<BlobMeta | undefined> {
    try {
      return await writer.commit();
    } catch (error) {
      // The verified bytes may already be with clients that have since left: the disk refused
      // to keep them, nothing more (counted as a disk error, not a failed fill).
      if (!(error instanceof StoreWriteError)) throw error;
      refused = true;
      args.release();
      engine.onDiskError?.(fill, error);
      return undefined;
    }
  }

  /**
   * The last byte goes out as soon as the digest verifies — before the fsync, rename and index
   * entry that make the blob durable (fsync of a large blob takes as long as the transfer on a
   * slow disk). A client never depends on our durability, only on verified bytes; the fill
   * stays joinable until committed, so a client arriving meanwhile follows it, not the upstream.
   */
  async function finish(): Promise<BlobMeta | undefined> {
    if (pass === undefined) {
      await writer.verify();
      verified = true;
      notify();
      return commitOrPass();
    }
    if (source.size !== undefined && total() !== source.size) throw new SizeMismatchError(source.size, total());
    if (!pass.digestMatches()) throw new DigestMismatchError(digest, 'the bytes passed through');
    return undefined;
  }

  /** The body through the stream path: chunks hashed and written by the writer (see `store`). */
  function streamBody(): Promise<void> {
    source.handOff?.decline();
    stall.start();
    return pipeline(source.body, sink, { signal: controller.signal });
  }

  /**
   * The body through the native receive loop (native-receive.ts), when the source can hand its
   * socket over. A disk failure there continues as on the stream path: pass-through for the
   * clients already following, with Node reading the rest of the body.
   */
  async function receiveBody(freeSlot: () => void): Promise<void> {
    // A body already read whole (a small blob comes with the head) stays on the stream path.
    const handed = source.handOff?.take();
    const external = handed === undefined ? undefined : writer.external();
    if (handed === undefined || external === undefined) {
      freeSlot();
      handed?.takeBack(0);
      return streamBody();
    }
    try {
      // The loop keeps both stall limits (stall.ts): its ETIMEDOUT is the upstream's timeout.
      const idleMs = Math.min(handed.idleMs, engine.idleTimeoutMs);
      await receiveNatively({ handed, external, idleMs, signal: controller.signal, grew: notify }).finally(freeSlot);
    } catch (error) {
      if (!(error instanceof NativeDiskError)) throw error;
      const through = await passThrough(new StoreWriteError(writer.tempPath, error));
      if (error.unwritten.length > 0) await through.push(error.unwritten);
      notify();
      await streamBody();
    }
  }

  const slot = nativeReceiveAvailable() && source.handOff !== undefined ? args.receiveSlot() : undefined;
  const done = (slot === undefined ? streamBody() : receiveBody(slot))
    .then(finish)
    .then(
      (meta) => settle(pass === undefined && !refused ? 'committed' : 'passed', undefined, meta),
      async (thrown: unknown) => {
        const error = failureOf(thrown, controller.signal.reason, source.sender ?? source.upstream);
        if (error instanceof DigestMismatchError || error instanceof SizeMismatchError) source.distrust?.();
        await writer.abort().catch(() => undefined);
        settle('failed', error, undefined);
        throw error;
      },
    );
  done.catch(() => undefined);

  function settle(next: FillStatus, error: unknown, meta: BlobMeta | undefined): BlobMeta | undefined {
    stall.stop();
    void args.temp.close().catch(() => undefined);
    status = next;
    failure = error;
    notify();
    // The stop, not the AbortError that the pipeline rejects with when it is cut.
    const stopped = error !== undefined && controller.signal.reason instanceof FillStoppedError;
    if (stopped) engine.logger.info({ digest, reason: (controller.signal.reason as Error).message }, 'fill stopped');
    else if (error !== undefined) engine.logger.warn({ digest, err: describeError(error) }, 'fill failed');
    engine.onSettled?.(fill, { ok: error === undefined, upstream: source.upstream, stopped, error, durationMs: Date.now() - started, bytes: total() });
    return meta;
  }

  function attach(): FillReader {
    const reader: FillReader = {
      fromMemory: (position, max) => {
        const queue = pass?.queueFor(reader);
        return queue === undefined ? undefined : pass?.take(queue, position, max);
      },
      detach: () => {
        if (!readers.delete(reader)) return;
        pass?.forget(reader);
        if (readers.size === 0 && status === 'running' && !keepDetached()) controller.abort(new FillStoppedError('every client left'));
      },
    };
    readers.add(reader);
    return reader;
  }

  function keepDetached(): boolean {
    if (!engine.continueWhenClientsGone || pass !== undefined) return false;
    return source.size !== undefined && source.size <= engine.detachedMaxSize;
  }

  const fill: Fill = {
    digest,
    size: source.size,
    mediaType: source.mediaType,
    tempPath: writer.tempPath,
    finalPath: engine.store.path(digest),
    readable,
    onDisk: () => (pass ? pass.diskBytes : writer.written),
    fromRecent: (position, max) => recent?.slice(position, max),
    status: () => status,
    complete,
    verified: () => verified,
    error: () => failure,
    wait: (offset) => (status !== 'running' || readable() > offset ? Promise.resolve() : new Promise((wake) => waiters.push({ offset, wake }))),
    attach,
    done,
  };
  return fill;
}
