/**
 * Prefetch (src/prefetch.ts) against a real registry, behind a proxy that logs what the
 * upstream was asked: the first GET of an image manifest fills its config and layers with no
 * client asking; a client asking meanwhile joins those fills (one upstream GET per blob); an
 * index prefetches nothing until a platform's manifest is fetched; `fill.prefetch: 0`, blobs over
 * `fill.detachedMaxSize` and `continueWhenClientsGone: false` fetch nothing ahead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCEPT_ALL_MANIFESTS, hashedGet, seedImages, startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry, type TestImage } from '@regcache/testkit';
import type { RegcacheConfigInput } from '../src/index.js';
import { expectStored, startCache, type RunningCache } from './helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';

/** Long enough for a prefetch to have asked the upstream (it asks before the manifest is answered). */
const QUIET_MS = 400;

describe('prefetch of an image manifest’s blobs', () => {
  let upstream: RunningRegistry;
  let proxy: FaultProxy;
  const images: Record<string, { docker: TestImage; oci: TestImage; multiArch: TestImage }> = {};

  beforeAll(async () => {
    upstream = await startRegistry();
    proxy = await startFaultProxy(upstream.url);
    for (const prefix of ['ahead', 'joined', 'index', 'off']) images[prefix] = await seedImages(upstream, { prefix: `prefetch-${prefix}` });
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });

  async function withCache<T>(fill: RegcacheConfigInput['fill'], run: (cache: RunningCache) => Promise<T>): Promise<T> {
    const cache = await startCache({ upstreams: [{ name: 'docker.io', url: proxy.url }], fill });
    try {
      return await run(cache);
    } finally {
      await cache.close();
    }
  }
  /** Upstream GETs of this blob so far. */
  const blobGets = (image: TestImage, digest: string): number => proxy.seen().filter((line) => line === `GET /v2/${image.name}/blobs/${digest}`).length;
  const anyBlobGets = (image: TestImage): number => image.blobs.reduce((sum, blob) => sum + blobGets(image, blob.digest), 0);
  const getManifest = async (cache: RunningCache, image: TestImage, reference: string): Promise<void> => {
    const res = await fetch(`${cache.url}/v2/${image.name}/manifests/${reference}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  };

  it('fills the config and layers after the first manifest GET, before any client asks; clients then hit', async () => {
    const image = (images.ahead as { oci: TestImage }).oci;
    await withCache({}, async (cache) => {
      await getManifest(cache, image, image.tag);
      for (const blob of image.blobs) await expectStored(cache, blob.digest);
      for (const blob of image.blobs) expect(blobGets(image, blob.digest)).toBe(1);
      for (const blob of image.blobs) {
        const got = await hashedGet(`${cache.url}/v2/${image.name}/blobs/${blob.digest}`);
        expect(got).toMatchObject({ status: 200, digest: blob.digest });
        expect(got.headers['x-regcache-cache']).toBe('hit');
      }
      expect(anyBlobGets(image)).toBe(image.blobs.length);
      const blobBytes = image.blobs.reduce((sum, blob) => sum + blob.size, 0);
      const counters = cache.cache.stats.snapshot();
      expect(counters.prefetches).toBe(image.blobs.length);
      expect(counters.bytesFromUpstream).toBeGreaterThanOrEqual(blobBytes);
      const samples = parsePrometheusText(await cache.cache.metrics.render());
      expect(valueOf(samples, 'regcache_prefetched_blobs_total', { upstream: 'docker.io' })).toBe(image.blobs.length);
      expect(valueOf(samples, 'regcache_prefetched_bytes_total', { upstream: 'docker.io' })).toBe(blobBytes);
    });
  });

  it('lets clients that ask at once join the prefetch fills: one upstream GET per blob, every byte intact', async () => {
    const image = (images.joined as { docker: TestImage }).docker;
    await withCache({}, async (cache) => {
      await getManifest(cache, image, image.tag);
      const pulls = await Promise.all(image.blobs.map((blob) => hashedGet(`${cache.url}/v2/${image.name}/blobs/${blob.digest}`)));
      pulls.forEach((got, i) => expect(got).toMatchObject({ status: 200, digest: image.blobs[i]?.digest }));
      for (const blob of image.blobs) await expectStored(cache, blob.digest);
      for (const blob of image.blobs) expect(blobGets(image, blob.digest)).toBe(1);
    });
  });

  it('prefetches nothing for an index, then the blobs of the platform manifest fetched next', async () => {
    const index = (images.index as { multiArch: TestImage }).multiArch;
    const [amd64, arm64] = index.children ?? [];
    if (amd64 === undefined || arm64 === undefined) throw new Error('the seeded index has two platforms');
    await withCache({}, async (cache) => {
      await getManifest(cache, index, index.tag);
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
      expect(anyBlobGets(index)).toBe(0);
      await getManifest(cache, index, amd64.digest);
      for (const blob of amd64.blobs) await expectStored(cache, blob.digest);
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
      expect(arm64.blobs.reduce((sum, blob) => sum + blobGets(index, blob.digest), 0)).toBe(0);
    });
  });

  it.each([
    ['fill.prefetch is 0', { prefetch: 0 }, 'docker'],
    ['every blob is over fill.detachedMaxSize', { detachedMaxSize: '16B' }, 'oci'],
    ['fills stop with their clients (continueWhenClientsGone: false)', { continueWhenClientsGone: false }, 'multiArch'],
  ] as const)('fetches nothing ahead when %s', async (_what, fill, kind) => {
    const seeded = (images.off as Record<typeof kind, TestImage>)[kind];
    const image = seeded.children?.[0] ?? seeded;
    await withCache(fill, async (cache) => {
      await getManifest(cache, seeded, image.digest);
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
      expect(anyBlobGets(image)).toBe(0);
      expect(cache.cache.stats.snapshot().prefetches ?? 0).toBe(0);
    });
  });
});
