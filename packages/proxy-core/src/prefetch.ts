/**
 * Prefetch: when an image manifest comes from the upstream for the first time, its config and
 * layers are filled in the background, in manifest order, `fill.prefetch` at a time. Clients
 * fetch an image's blobs one (skopeo) or three (containerd, docker) at a time, each only after
 * the previous is done; with prefetch the next blob is already arriving — the client joins its
 * fill, or finds it cached — so a cold pull runs at the client's speed, not at the sum of one
 * upstream round trip and one fill per blob.
 *
 * Bounded, so a manifest cannot make the cache fetch without limit:
 * - only blobs neither cached nor being filled, once per digest while it waits or runs, and
 *   no foreign (non-distributable) layer — the registry does not serve those;
 * - at most `concurrency` prefetch fills at a time per instance — and only one unless a far
 *   upstream's fill lags (see RAMP_RATE) — and at most QUEUE_MAX waiting (more are dropped: a
 *   client asking for them fills them as usual);
 * - blobs larger than `fill.detachedMaxSize` are left to clients (a fill nobody follows must
 *   not be larger than that), and nothing is prefetched when `fill.continueWhenClientsGone`
 *   is off.
 * A failed prefetch is a failed fill like any other (logged, counted); a client asking for that
 * blob later starts its own.
 */
import type { Descriptor, Digest, RepositoryName } from '@regcache/registry-protocol';
import type { Upstream } from './context.js';
import type { Fill, FillSource } from './fill/types.js';
import type { Logger } from './logger.js';

/** Layers a registry does not serve (Windows base layers: their manifest points elsewhere). */
const NOT_DISTRIBUTED = /\.(foreign|nondistributable)\./;

/** Waiting prefetches beyond this are dropped. */
export const QUEUE_MAX = 1000;

/**
 * One prefetch fill at a time, unless a far upstream's fill lags: all `concurrency` slots open
 * once a prefetch fill from a far upstream (RAMP_RTT_MS) falls behind RAMP_RATE, counted from
 * its response head (checked every RAMP_CHECK_MS, after RAMP_GRACE_MS). Parallel connections
 * help where the round trip limits one connection (a CDN capping each, a long way): behind a
 * 60 MiB/s, 30 ms proxy the bench's 20-layer skopeo pull took 3.04 s with three at once, 3.81 s
 * with one. From a near upstream (a LAN mirror, loopback) one connection is limited by the CPU,
 * which more fills only split with the one a client follows: there a fill lags exactly when the
 * machine is busy, and opening slots then made it busier (the same pull from a loopback registry
 * took 2.01–2.28 s with three at once, 1.84–1.98 s with one). The last whole fill observed sets
 * the width for the ones after it.
 */
export const RAMP_RATE = 128 * 1024 * 1024;
export const RAMP_GRACE_MS = 25;
/**
 * An upstream is far when even its quickest recent answer (from asking to the response head, of
 * the last RTT_SAMPLES prefetch fills) took this long. The quickest, because a busy moment only
 * ever adds to one: on this 2-core machine a loopback registry's blob answers took 3–74 ms
 * while a pull ran, its quickest of a pull 3–13 ms.
 */
export const RAMP_RTT_MS = 20;
const RTT_SAMPLES = 16;
const RAMP_CHECK_MS = 50;

/** Fewer than RAMP_RATE bytes per second since the grace period (from the response head) ended. */
export function lagging(bytes: number, elapsedMs: number): boolean {
  return elapsedMs > RAMP_GRACE_MS && bytes < ((elapsedMs - RAMP_GRACE_MS) / 1000) * RAMP_RATE;
}

export interface Prefetcher {
  /** Queues the blobs of an image manifest just fetched from `upstream` for `repo`. */
  schedule(upstream: Upstream, repo: RepositoryName, blobs: readonly Descriptor[]): void;
  /** Prefetch fills running and waiting. */
  pending(): number;
  /** Drops what waits and starts nothing more (running fills stop with the fill engine). */
  close(): void;
}

export interface PrefetchOptions {
  /** The fill engine (only what prefetch uses of it). */
  fills: {
    get(digest: Digest): unknown;
    start(digest: Digest, open: (signal: AbortSignal) => Promise<FillSource>): { fill: Promise<Pick<Fill, 'done' | 'onDisk'>>; joined: boolean };
  };
  /** Whether the store has the blob already. */
  cached(digest: Digest): Promise<boolean>;
  /** Opens the upstream body for a fill (blobs.ts's `openUpstream`). */
  open(upstream: Upstream, repo: RepositoryName, digest: Digest, signal: AbortSignal): Promise<FillSource>;
  /** Fills at a time; 0 turns prefetch off. */
  concurrency: number;
  /** Larger blobs are not prefetched. */
  maxSize: number;
  logger: Logger;
  /** A fill this prefetcher started (not one it joined) has stored its blob of `bytes`. */
  onFilled?(upstream: Upstream, bytes: number): void;
}

interface Job {
  upstream: Upstream;
  repo: RepositoryName;
  digest: Digest;
}

export function createPrefetcher(opts: PrefetchOptions): Prefetcher {
  const queue: Job[] = [];
  /** Digests waiting or running: scheduled again meanwhile, they are not queued twice. */
  const queued = new Set<Digest>();
  let running = 0;
  let closed = false;
  /** All `concurrency` slots open (a prefetch fill lagged), or one. */
  let wide = false;
  /** Per upstream, the round trips of its last RTT_SAMPLES prefetch fills. */
  const roundTrips = new Map<string, number[]>();

  /** Keeps a round trip of `upstream`'s; whether it counts as far now. */
  function recordRoundTrip(upstream: Upstream, roundTripMs: number): boolean {
    const samples = roundTrips.get(upstream.config.name) ?? [];
    samples.push(roundTripMs);
    if (samples.length > RTT_SAMPLES) samples.shift();
    roundTrips.set(upstream.config.name, samples);
    return Math.min(...samples) >= RAMP_RTT_MS;
  }

  async function run(job: Job): Promise<void> {
    if (opts.fills.get(job.digest) !== undefined || (await opts.cached(job.digest)) || closed) return;
    const started = performance.now();
    /** When the upstream's response head came, and whether the upstream counts as far (once it has). */
    let answered: { at: number; far: boolean } | undefined;
    const open = async (signal: AbortSignal): Promise<FillSource> => {
      const source = await opts.open(job.upstream, job.repo, job.digest, signal);
      const at = performance.now();
      answered = { at, far: recordRoundTrip(job.upstream, at - started) };
      return source;
    };
    const { fill, joined } = opts.fills.start(job.digest, open);
    const filling = await fill;
    // The rate counts from the response head: a small blob's fill is all round trip.
    const slow = (bytes: number): boolean => answered !== undefined && answered.far && lagging(bytes, performance.now() - answered.at);
    // Only a fill this prefetch started tells how fast the upstream is; a joined one began earlier.
    const watch = joined ? undefined : setInterval(() => slow(filling.onDisk()) && widen(), RAMP_CHECK_MS);
    watch?.unref();
    try {
      const meta = await filling.done;
      if (joined || meta === undefined) return;
      wide = slow(meta.size);
      opts.onFilled?.(job.upstream, meta.size);
    } finally {
      clearInterval(watch);
    }
  }

  function widen(): void {
    if (wide) return;
    wide = true;
    pump();
  }

  function pump(): void {
    while (!closed && running < (wide ? opts.concurrency : 1) && queue.length > 0) {
      const job = queue.shift() as Job;
      running++;
      run(job)
        .catch((error: unknown) => opts.logger.debug({ digest: job.digest, err: String(error) }, 'prefetch failed'))
        .finally(() => {
          running--;
          queued.delete(job.digest);
          pump();
        });
    }
  }

  return {
    schedule(upstream, repo, blobs) {
      if (closed || opts.concurrency === 0) return;
      for (const blob of blobs) {
        if (blob.size > opts.maxSize || NOT_DISTRIBUTED.test(blob.mediaType) || queued.has(blob.digest)) continue;
        if (queue.length >= QUEUE_MAX) {
          opts.logger.debug({ repo, dropped: blob.digest }, 'prefetch queue full');
          break;
        }
        queued.add(blob.digest);
        queue.push({ upstream, repo, digest: blob.digest });
      }
      pump();
    },
    pending: () => running + queue.length,
    close() {
      closed = true;
      for (const job of queue) queued.delete(job.digest);
      queue.length = 0;
    },
  };
}
