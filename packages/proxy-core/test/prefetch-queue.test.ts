/**
 * The prefetch queue on its own (no HTTP: the fill engine is a stand-in whose fills end when
 * the test says): one fill at a time unless a far upstream's fill lags, then at most
 * `concurrency`, in manifest order; a digest queued,
 * cached or being filled is not fetched again; at most QUEUE_MAX wait; close() drops what waits.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseDigest, type Descriptor, type Digest, type RepositoryName } from '@regcache/registry-protocol';
import type { BlobMeta } from '@regcache/blob-store';
import { createPrefetcher, lagging, QUEUE_MAX, RAMP_GRACE_MS, RAMP_RATE, RAMP_RTT_MS, type PrefetchOptions } from '../src/prefetch.js';
import { silentLogger, type RegcacheConfig } from '../src/index.js';
import type { Upstream } from '../src/context.js';
import type { FillSource } from '../src/fill/types.js';

const digest = (n: number): Digest => {
  const parsed = parseDigest(`sha256:${n.toString(16).padStart(64, '0')}`);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
};
const blob = (n: number, size = 100): Descriptor => ({ mediaType: 'application/octet-stream', digest: digest(n), size });
const upstream = { config: { name: 'docker.io' } as RegcacheConfig['upstreams'][number] } as Upstream;
const repo = 'library/app' as RepositoryName;
/**
 * Time is fake in this file (setTimeout, setInterval and performance.now, which the ramp reads):
 * a loaded machine's late timers once made a near upstream count as far. Advancing the clock
 * also runs the promises each timer settles.
 */
const pass = (ms: number): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);
const tick = (): Promise<void> => pass(5);

/** An upstream that answers after this long counts as far (RAMP_RTT_MS); 0: a near one. */
const FAR = RAMP_RTT_MS + 5;

/**
 * A stand-in fill engine: started fills open their source (the upstream answers after
 * `roundTripMs`), stay open until `finish(digest, size)`, and report `progress` bytes on disk
 * meanwhile (0: a fill that lags; Infinity: one that keeps pace).
 */
function fakeFills(cachedDigests: Set<Digest> = new Set(), initialProgress = 0, roundTripMs: number | number[] = FAR) {
  const roundTrips = typeof roundTripMs === 'number' ? [roundTripMs] : [...roundTripMs];
  /** The next answer's round trip: the list in turn, then its last one. */
  const nextRoundTrip = (): number => (roundTrips.length > 1 ? (roundTrips.shift() as number) : (roundTrips[0] as number));
  let progress = initialProgress;
  const open = new Map<Digest, (size: number | undefined) => void>();
  const started: Digest[] = [];
  let peak = 0;
  const options: Pick<PrefetchOptions, 'fills' | 'cached' | 'open'> = {
    fills: {
      get: (d) => (open.has(d) ? Promise.resolve() : undefined),
      start(d, openSource) {
        started.push(d);
        void openSource(new AbortController().signal);
        const done = new Promise<BlobMeta | undefined>((resolve) => open.set(d, (size) => resolve(size === undefined ? undefined : ({ size } as BlobMeta))));
        peak = Math.max(peak, open.size);
        return { fill: Promise.resolve({ done, onDisk: () => progress }), joined: false };
      },
    },
    cached: async (d) => cachedDigests.has(d),
    open: () => {
      const roundTrip = nextRoundTrip();
      return new Promise<FillSource>((resolve) => setTimeout(() => resolve({} as FillSource), roundTrip));
    },
  };
  return {
    options,
    started,
    peak: () => peak,
    setProgress(bytes: number) {
      progress = bytes;
    },
    async finish(d: Digest, size?: number) {
      const end = open.get(d);
      open.delete(d);
      end?.(size);
      await tick();
    },
  };
}

/** Longer than a far upstream's answer, the grace and one lag check. */
const lagWindow = (): Promise<void> => pass(FAR + RAMP_GRACE_MS + 120);

describe('createPrefetcher', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs one fill, then at most `concurrency` once one lags, in manifest order, skipping what is cached', async () => {
    const fills = fakeFills(new Set([digest(3)]));
    const prefetch = createPrefetcher({ ...fills.options, concurrency: 2, maxSize: 1000, logger: silentLogger });
    prefetch.schedule(upstream, repo, [1, 2, 3, 4, 5].map((n) => blob(n)));
    await tick();
    expect(fills.started).toEqual([digest(1)]);
    await lagWindow();
    expect(fills.started).toEqual([digest(1), digest(2)]);
    await fills.finish(digest(1));
    expect(fills.started).toEqual([digest(1), digest(2), digest(4)]);
    await fills.finish(digest(2));
    await fills.finish(digest(4));
    await fills.finish(digest(5));
    expect(fills.started).toEqual([1, 2, 4, 5].map(digest));
    expect(fills.peak()).toBe(2);
    expect(prefetch.pending()).toBe(0);
  });

  it('stays at one fill at a time when a near upstream’s fill lags: the CPU limits it, not the round trip', async () => {
    const near = fakeFills(new Set(), 0, 0);
    const prefetch = createPrefetcher({ ...near.options, concurrency: 3, maxSize: 1000, logger: silentLogger });
    prefetch.schedule(upstream, repo, [1, 2, 3].map((n) => blob(n)));
    await lagWindow();
    await lagWindow();
    expect(near.started).toEqual([digest(1)]);
    await near.finish(digest(1), 1);
    await near.finish(digest(2), 1);
    expect(near.started).toEqual([1, 2, 3].map(digest));
    expect(near.peak()).toBe(1);
  });

  it('counts an upstream by its quickest recent answer: one late answer does not make a near upstream far', async () => {
    const near = fakeFills(new Set(), 0, [0, FAR]);
    const prefetch = createPrefetcher({ ...near.options, concurrency: 3, maxSize: 1000, logger: silentLogger });
    prefetch.schedule(upstream, repo, [1, 2, 3, 4].map((n) => blob(n)));
    await tick();
    await near.finish(digest(1), 1);
    // 2 is answered late and lags
    await lagWindow();
    expect(near.started).toEqual([digest(1), digest(2)]);
    await near.finish(digest(2), 1);
    await near.finish(digest(3), 1);
    expect(near.peak()).toBe(1);
  });

  it('does not take a small blob from a far upstream for a lagging one: its rate counts from the response head', async () => {
    const far = fakeFills();
    const prefetch = createPrefetcher({ ...far.options, concurrency: 3, maxSize: 1000, logger: silentLogger });
    prefetch.schedule(upstream, repo, [1, 2, 3].map((n) => blob(n)));
    // A config blob: answered after FAR ms, whole a moment later (past the grace, counted from the request).
    await pass(FAR + 10);
    await far.finish(digest(1), 3217);
    expect(far.started).toEqual([digest(1), digest(2)]);
  });

  it('stays at one fill at a time while fills keep pace, and narrows again after a fast whole fill', async () => {
    const fast = fakeFills(new Set(), Number.POSITIVE_INFINITY);
    const one = createPrefetcher({ ...fast.options, concurrency: 3, maxSize: 1000, logger: silentLogger });
    one.schedule(upstream, repo, [1, 2, 3].map((n) => blob(n)));
    await lagWindow();
    expect(fast.started).toEqual([digest(1)]);
    await fast.finish(digest(1), 1024 ** 3);
    await fast.finish(digest(2), 1024 ** 3);
    expect(fast.started).toEqual([1, 2, 3].map(digest));
    expect(fast.peak()).toBe(1);

    const slow = fakeFills();
    const wide = createPrefetcher({ ...slow.options, concurrency: 2, maxSize: 1000, logger: silentLogger });
    wide.schedule(upstream, repo, [1, 2, 3].map((n) => blob(n)));
    await lagWindow();
    expect(slow.started).toEqual([digest(1), digest(2)]);
    // From now on they keep pace, and 1 ends with 1 GiB in the window: a fast whole fill — no
    // second slot while 2 still runs.
    slow.setProgress(Number.POSITIVE_INFINITY);
    await slow.finish(digest(1), 1024 ** 3);
    expect(slow.started).toEqual([digest(1), digest(2)]);
    await slow.finish(digest(2), 1024 ** 3);
    expect(slow.started).toEqual([1, 2, 3].map(digest));
  });

  it('calls a fill lagging once its bytes fall behind RAMP_RATE after the grace', () => {
    expect(lagging(0, RAMP_GRACE_MS)).toBe(false);
    expect(lagging(1, RAMP_GRACE_MS + 10)).toBe(true);
    expect(lagging(RAMP_RATE, 1000)).toBe(false);
    expect(lagging(RAMP_RATE / 2, 1000)).toBe(true);
  });

  it('queues a digest once, skips foreign layers and blobs over maxSize, and does not refetch one being filled', async () => {
    const fills = fakeFills();
    const prefetch = createPrefetcher({ ...fills.options, concurrency: 1, maxSize: 500, logger: silentLogger });
    const foreign = [
      { ...blob(4), mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' },
      { ...blob(5), mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' },
    ];
    prefetch.schedule(upstream, repo, [blob(1), blob(2), blob(2), blob(3, 501), ...foreign]);
    prefetch.schedule(upstream, repo, [blob(1), blob(2)]);
    await tick();
    expect(prefetch.pending()).toBe(2);
    await fills.finish(digest(1));
    await fills.finish(digest(2));
    expect(fills.started).toEqual([digest(1), digest(2)]);
  });

  it(`keeps at most ${QUEUE_MAX} waiting, and close() drops them and starts nothing more`, async () => {
    const fills = fakeFills();
    const prefetch = createPrefetcher({ ...fills.options, concurrency: 1, maxSize: 1000, logger: silentLogger });
    prefetch.schedule(upstream, repo, Array.from({ length: QUEUE_MAX + 50 }, (_, i) => blob(i + 1)));
    await tick();
    expect(prefetch.pending()).toBe(QUEUE_MAX);
    prefetch.close();
    expect(prefetch.pending()).toBe(1);
    await fills.finish(digest(1));
    prefetch.schedule(upstream, repo, [blob(9999)]);
    await tick();
    expect(fills.started).toEqual([digest(1)]);
    expect(prefetch.pending()).toBe(0);
  });
});
