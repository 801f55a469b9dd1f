/**
 * The fill engine: one upstream fetch per digest, however many clients ask.
 *
 * A fill streams the upstream body through the store's verifying writer into a temp file.
 * Every client — the one that caused the fill and any that join later — follows that temp
 * file as it grows (see follow.ts), so a slow client never slows the fill or the others,
 * and memory stays flat. The fill has its own lifetime (its own AbortController): a client
 * that goes away does not stop it, so the next pull is a hit.
 *
 * Races, and why they are safe:
 * - Two misses for one digest: `start` checks and sets the in-flight map synchronously, so
 *   the second joins the first (the map holds the promise of the fill, before the
 *   upstream has even answered).
 * - A miss that races a commit: the store indexes the blob *before* the fill leaves the
 *   map, so a caller that checks the map and then the store always sees one of them.
 * - A follower that opens the temp file just as it is renamed: it retries on the final path
 *   (same inode either way; an fd opened before the rename keeps reading it).
 */
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta, BlobStore } from '@regcache/blob-store';
import type { Logger } from '../logger.js';

export interface FillSource {
  body: Readable & { dump(): Promise<void> };
  size: number | undefined;
  mediaType: string;
}

export type FillStatus = 'running' | 'committed' | 'failed';

export interface Fill {
  readonly digest: Digest;
  readonly size: number | undefined;
  readonly mediaType: string;
  readonly tempPath: string;
  readonly finalPath: string;
  written(): number;
  /**
   * How far a client may read now: all of a committed blob; while running, all that is
   * written except the last byte of a blob of known size, which is only released once the
   * store has verified the digest (so a wrong blob never reaches a client complete-looking).
   */
  readable(): number;
  status(): FillStatus;
  error(): unknown;
  /** Resolves once more than `offset` bytes are readable, or the fill has settled. */
  wait(offset: number): Promise<void>;
  /** A client follows this fill; call the returned function when it stops. */
  attach(): () => void;
  readonly done: Promise<BlobMeta>;
}

export interface FillEngineOptions {
  store: BlobStore;
  logger: Logger;
  /** Keep filling when every client has gone (default true), up to this many bytes. */
  continueWhenClientsGone: boolean;
  detachedMaxSize: number;
  onSettled?: (fill: Fill, outcome: { ok: boolean; error?: unknown; durationMs: number }) => void;
}

export interface FillEngine {
  get(digest: Digest): Promise<Fill> | undefined;
  /** Join the fill for `digest`, or start one with `open` (which asks the upstream). */
  start(digest: Digest, open: (signal: AbortSignal) => Promise<FillSource>): { fill: Promise<Fill>; joined: boolean };
  inFlight(): number;
  close(): Promise<void>;
}

export function createFillEngine(opts: FillEngineOptions): FillEngine {
  const inflight = new Map<Digest, Promise<Fill>>();
  const running = new Set<{ controller: AbortController; done: Promise<unknown> }>();

  function start(digest: Digest, open: (signal: AbortSignal) => Promise<FillSource>) {
    const existing = inflight.get(digest);
    if (existing) return { fill: existing, joined: true };
    const controller = new AbortController();
    const fill = open(controller.signal).then((source) => runFill(digest, source, controller));
    inflight.set(digest, fill);
    fill.then(
      (f) => {
        const entry = { controller, done: f.done.catch(() => undefined) };
        running.add(entry);
        void entry.done.finally(() => {
          running.delete(entry);
          if (inflight.get(digest) === fill) inflight.delete(digest);
        });
      },
      () => {
        if (inflight.get(digest) === fill) inflight.delete(digest);
      },
    );
    return { fill, joined: false };
  }

  async function runFill(digest: Digest, source: FillSource, controller: AbortController): Promise<Fill> {
    let writer;
    try {
      writer = await opts.store.beginWrite(digest, { expectedSize: source.size, mediaType: source.mediaType });
    } catch (error) {
      await source.body.dump().catch(() => undefined);
      throw error;
    }
    return createRunningFill({ digest, source, writer, controller, engine: opts });
  }

  return {
    get: (digest) => inflight.get(digest),
    start,
    inFlight: () => running.size,
    async close() {
      for (const entry of running) entry.controller.abort();
      await Promise.all([...running].map((entry) => entry.done));
    },
  };
}

type Writer = Awaited<ReturnType<BlobStore['beginWrite']>>;

function createRunningFill(args: {
  digest: Digest;
  source: FillSource;
  writer: Writer;
  controller: AbortController;
  engine: FillEngineOptions;
}): Fill {
  const { digest, source, writer, controller, engine } = args;
  const started = Date.now();
  let status: FillStatus = 'running';
  let failure: unknown;
  let clients = 0;
  let waiters: Array<() => void> = [];
  const notify = (): void => {
    const current = waiters;
    waiters = [];
    for (const wake of current) wake();
  };

  const readable = (): number => {
    if (status === 'committed' || source.size === undefined) return writer.written;
    return Math.min(writer.written, source.size - 1);
  };

  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      writer.write(chunk).then(() => {
        notify();
        callback();
      }, callback);
    },
  });

  const done = pipeline(source.body, sink, { signal: controller.signal })
    .then(() => writer.commit())
    .then(
      (meta) => {
        status = 'committed';
        notify();
        engine.onSettled?.(fill, { ok: true, durationMs: Date.now() - started });
        return meta;
      },
      async (error: unknown) => {
        await writer.abort().catch(() => undefined);
        status = 'failed';
        failure = error;
        notify();
        engine.logger.warn({ digest, err: String(error) }, 'fill failed');
        engine.onSettled?.(fill, { ok: false, error, durationMs: Date.now() - started });
        throw error;
      },
    );
  done.catch(() => undefined);

  const fill: Fill = {
    digest,
    size: source.size,
    mediaType: source.mediaType,
    tempPath: writer.tempPath,
    finalPath: engine.store.path(digest),
    written: () => writer.written,
    readable,
    status: () => status,
    error: () => failure,
    wait(offset) {
      if (status !== 'running' || readable() > offset) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    attach() {
      clients++;
      let attached = true;
      return () => {
        if (!attached) return;
        attached = false;
        clients--;
        if (clients === 0 && status === 'running' && !keepDetached(source.size, engine)) controller.abort();
      };
    },
    done,
  };
  return fill;
}

function keepDetached(size: number | undefined, engine: FillEngineOptions): boolean {
  if (!engine.continueWhenClientsGone) return false;
  return size !== undefined && size <= engine.detachedMaxSize;
}
