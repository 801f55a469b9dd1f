/**
 * The prefetch queue on its own (no HTTP: the fill engine is a stand-in whose fills end when
 * the test says): at most `concurrency` fills at a time, in manifest order; a digest queued,
 * cached or being filled is not fetched again; at most QUEUE_MAX wait; close() drops what waits.
 */
import { describe, expect, it } from 'vitest';
import { parseDigest, type Descriptor, type Digest, type RepositoryName } from '@regcache/registry-protocol';
import { createPrefetcher, QUEUE_MAX, type PrefetchOptions } from '../src/prefetch.js';
import { silentLogger, type RegcacheConfig } from '../src/index.js';
import type { Upstream } from '../src/context.js';

const digest = (n: number): Digest => {
  const parsed = parseDigest(`sha256:${n.toString(16).padStart(64, '0')}`);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
};
const blob = (n: number, size = 100): Descriptor => ({ mediaType: 'application/octet-stream', digest: digest(n), size });
const upstream = { config: { name: 'docker.io' } as RegcacheConfig['upstreams'][number] } as Upstream;
const repo = 'library/app' as RepositoryName;
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

/** A stand-in fill engine: started fills stay open until `finish(digest)`. */
function fakeFills(cachedDigests: Set<Digest> = new Set()) {
  const open = new Map<Digest, () => void>();
  const started: Digest[] = [];
  let peak = 0;
  const options: Pick<PrefetchOptions, 'fills' | 'cached' | 'open'> = {
    fills: {
      get: (d) => (open.has(d) ? Promise.resolve() : undefined),
      start(d) {
        started.push(d);
        const done = new Promise<undefined>((resolve) => open.set(d, () => resolve(undefined)));
        peak = Math.max(peak, open.size);
        return { fill: Promise.resolve({ done }), joined: false };
      },
    },
    cached: async (d) => cachedDigests.has(d),
    open: () => Promise.reject(new Error('not used: start() is the stand-in')),
  };
  return {
    options,
    started,
    peak: () => peak,
    async finish(d: Digest) {
      const end = open.get(d);
      open.delete(d);
      end?.();
      await tick();
    },
  };
}

describe('createPrefetcher', () => {
  it('runs at most `concurrency` fills at a time, in manifest order, skipping what is cached', async () => {
    const fills = fakeFills(new Set([digest(3)]));
    const prefetch = createPrefetcher({ ...fills.options, concurrency: 2, maxSize: 1000, logger: silentLogger });
    prefetch.schedule(upstream, repo, [1, 2, 3, 4, 5].map((n) => blob(n)));
    await tick();
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
