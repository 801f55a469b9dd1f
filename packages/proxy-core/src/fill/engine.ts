/**
 * The fill engine: one upstream fetch per digest, however many clients ask.
 *
 * A fill streams the upstream body through the store's verifying writer into a temp file.
 * Every client — the one that caused the fill and any that join later — follows that temp
 * file as it grows (see follow.ts), so a slow client never slows the fill or the others,
 * and memory stays flat. The fill has its own lifetime: a client that goes away does not
 * stop it, so the next pull is a hit (running-fill.ts).
 *
 * Races, and why they are safe:
 * - Two misses for one digest: `start` checks and sets the in-flight map synchronously, so
 *   the second joins the first (the map holds the promise of the fill, before the upstream
 *   has even answered). Digests are shared across repositories and upstreams.
 * - A miss that races a commit: the store indexes the blob *before* the fill leaves the map,
 *   so a caller that checks the map and then the store always sees one of them.
 * - A follower that opens the temp file just as it is renamed: it retries on the final path
 *   (the same inode; an fd opened before the rename keeps reading it).
 */
import { open } from 'node:fs/promises';
import type { Digest } from '@regcache/registry-protocol';
import { createRunningFill, FillStoppedError } from './running-fill.js';
import type { Fill, FillEngineOptions, FillSource } from './types.js';

/**
 * How many filled bytes between two `reclaim` calls. Each upstream read through undici (an
 * https upstream, a chunked body; plain-http bodies are pooled or received natively and leave
 * no buffers behind) is a 64 KiB buffer, garbage as soon as it is on disk but freed only when V8 next collects the objects that hold
 * it — with a 1 MiB young generation that is every ≈ 20 MiB of buffers, which a 256 MiB fill
 * adds to its peak RSS. A young-generation GC every 4 MiB keeps that below ≈ 5 MiB (measured:
 * peak RSS of a 16-client 256 MiB fill 105–107 → 92–95 MiB) for ≈ 1 ms each (64 per 256 MiB).
 */
export const RECLAIM_BYTES = 4 * 1024 * 1024;
/** …and only when those bytes came within this long (≥ 16 MiB/s across fills). */
export const RECLAIM_FAST_MS = 250;

/**
 * Receive loops (fill/native-receive.ts) running at a time per engine; each is a thread with a
 * 1 MiB buffer. Fast fills past a few loops only share the cores (a loop is worth its thread when
 * it keeps the JavaScript thread free for requests), and a slow upstream's fill costs that thread
 * little on the stream path, which is where the fills past this limit go — correct the same way.
 * Without a limit a burst of cold blobs would start a thread for each.
 */
export const RECEIVE_LOOPS = 8;

export interface FillEngine {
  get(digest: Digest): Promise<Fill> | undefined;
  /** Join the fill for `digest`, or start one with `open` (which asks the upstream). */
  start(digest: Digest, open: (signal: AbortSignal) => Promise<FillSource>): { fill: Promise<Fill>; joined: boolean };
  inFlight(): number;
  /** Digests being filled right now (gc must leave them alone). */
  inFlightDigests(): Digest[];
  close(): Promise<void>;
}

export function createFillEngine(opts: FillEngineOptions): FillEngine {
  const inflight = new Map<Digest, Promise<Fill>>();
  const running = new Map<AbortController, { digest: Digest; done: Promise<unknown> }>();
  let loops = 0;
  /** A receive loop's place, or undefined when RECEIVE_LOOPS run; the returned function frees it (once). */
  const receiveSlot = (): (() => void) | undefined => {
    if (loops >= RECEIVE_LOOPS) return undefined;
    loops++;
    let held = true;
    return () => {
      if (held) loops--;
      held = false;
    };
  };
  let sinceReclaim = 0;
  let lastMark = 0;
  const stored = opts.reclaim === undefined ? undefined : (bytes: number): void => {
    sinceReclaim += bytes;
    if (sinceReclaim < RECLAIM_BYTES) return;
    sinceReclaim %= RECLAIM_BYTES;
    const now = performance.now();
    // Only fast fills pile buffers up faster than V8 collects them; forcing scavenges for a slow
    // one under request load only promotes live request objects early.
    if (now - lastMark < RECLAIM_FAST_MS) opts.reclaim?.();
    lastMark = now;
  };

  function start(digest: Digest, open: (signal: AbortSignal) => Promise<FillSource>) {
    const existing = inflight.get(digest);
    if (existing) return { fill: existing, joined: true };
    const controller = new AbortController();
    const release = (): void => {
      if (inflight.get(digest) === fill) inflight.delete(digest);
    };
    const fill = open(controller.signal).then((source) => begin(digest, source, controller, release));
    inflight.set(digest, fill);
    fill.then(
      (f) => {
        const done = f.done.catch(() => undefined);
        running.set(controller, { digest, done });
        void done.finally(() => {
          running.delete(controller);
          release();
        });
      },
      release,
    );
    return { fill, joined: false };
  }

  async function begin(digest: Digest, source: FillSource, controller: AbortController, release: () => void): Promise<Fill> {
    let writer;
    let temp;
    try {
      writer = await opts.store.beginWrite(digest, { expectedSize: source.size, mediaType: source.mediaType });
      temp = await open(writer.tempPath, 'r');
    } catch (error) {
      await writer?.abort().catch(() => undefined);
      await source.body.dump().catch(() => undefined);
      throw error;
    }
    return createRunningFill({ digest, source, writer, temp, controller, engine: opts, release, stored, receiveSlot });
  }

  return {
    get: (digest) => inflight.get(digest),
    start,
    inFlight: () => running.size,
    inFlightDigests: () => [...new Set([...inflight.keys(), ...[...running.values()].map((r) => r.digest)])],
    async close() {
      for (const controller of running.keys()) controller.abort(new FillStoppedError('regcache is shutting down'));
      await Promise.all([...running.values()].map((r) => r.done));
    },
  };
}
