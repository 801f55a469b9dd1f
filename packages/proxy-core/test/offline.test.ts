/**
 * Offline and stale-if-error. With the upstream stopped, a cached tag is served as it is,
 * marked `x-regcache-stale: true`, and cached digests and blobs are served as always. An
 * upstream that answers 429 (injected by a small proxy in front of the real registry) is
 * treated the same, and is not asked again before its Retry-After; a 503 or an upstream that
 * does not answer in time likewise. Docker Hub's `ratelimit-*` headers are recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skopeoPull, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';
import { httpPull, pushTinyImage, type TinyImage } from './images.js';
import { startLimitProxy, type LimitProxy } from './limit-proxy.js';

const TTL_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('offline and rate-limited upstreams', () => {
  let upstream: RunningRegistry;
  let proxy: LimitProxy;
  let cache: RunningCache;

  beforeAll(async () => {
    upstream = await startRegistry();
    proxy = await startLimitProxy(upstream.url, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '42;w=21600' });
    cache = await startCache({
      upstreams: [
        { name: 'direct.test', url: upstream.url, tagTtl: `${TTL_MS}ms`, default: true },
        { name: 'limited.test', url: proxy.url, tagTtl: `${TTL_MS}ms`, timeouts: { headers: '1s' } },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await cache?.close();
    await proxy?.stop();
    await upstream?.stop();
  });

  /** Pushes an image and pulls it once through `route` (e.g. `limited.test/`), so regcache holds it. */
  async function cached(route: string, name: string): Promise<TinyImage> {
    const image = await pushTinyImage(upstream, name, 'v1');
    expect((await httpPull(cache.url, `${route}${name}`, 'v1')).digest).toBe(image.digest);
    return image;
  }

  it('serves tags (marked stale), digests and blobs with the upstream stopped', async () => {
    const image = await cached('direct.test/', 'off/app');
    await sleep(TTL_MS + 200);
    await upstream.stop();
    try {
      const byTag = await skopeoPull(`${cache.host}/direct.test/off/app:v1`);
      expect(byTag.code, byTag.stderr).toBe(0);
      expect(byTag.manifestDigest).toBe(image.digest);
      const byDigest = await skopeoPull(`${cache.host}/direct.test/off/app@${image.digest}`);
      expect(byDigest.code, byDigest.stderr).toBe(0);
      expect(await httpPull(cache.url, 'direct.test/off/app', 'v1')).toMatchObject({ status: 200, digest: image.digest, stale: true });
      expect(await httpPull(cache.url, 'direct.test/off/app', image.digest)).toMatchObject({ status: 200, digest: image.digest, stale: false });
      const unknown = await fetch(`${cache.url}/v2/direct.test/off/app/manifests/never-pulled`);
      expect(unknown.status).toBe(503);
      expect(cache.cache.stats.snapshot()['stale@direct.test']).toBeGreaterThan(0);
    } finally {
      await upstream.start();
    }
  }, 60_000);

  it('records Docker Hub’s ratelimit headers', async () => {
    await cached('limited.test/', 'limit/headers');
    expect(cache.cache.upstreamState('limited.test')).toMatchObject({ rateLimitRemaining: 42, rateLimitLimit: 100 });
  });

  it('treats a 429 like offline and asks nothing before Retry-After', async () => {
    const image = await cached('limited.test/', 'limit/app');
    proxy.set({ kind: 'refuse', status: 429, headers: { 'retry-after': '2' } });
    await sleep(TTL_MS + 200);
    const before = proxy.seen().length;
    expect(await httpPull(cache.url, 'limited.test/limit/app', 'v1')).toMatchObject({ digest: image.digest, stale: true });
    expect(proxy.seen().slice(before)).toEqual(['HEAD /v2/limit/app/manifests/v1']);
    const limitedUntil = cache.cache.upstreamState('limited.test')?.rateLimitedUntil ?? 0;
    expect(limitedUntil).toBeGreaterThan(Date.now());

    const again = await skopeoPull(`${cache.host}/limited.test/limit/app:v1`);
    expect(again.manifestDigest, again.stderr).toBe(image.digest);
    expect(await httpPull(cache.url, 'limited.test/limit/app', 'v1')).toMatchObject({ digest: image.digest, stale: true });
    const unknown = await fetch(`${cache.url}/v2/limited.test/limit/app/manifests/never-pulled`);
    expect(unknown.status).toBe(429);
    expect(Number(unknown.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(proxy.seen().length).toBe(before + 1);

    proxy.set({ kind: 'forward' });
    await sleep(limitedUntil - Date.now() + 100);
    expect(await httpPull(cache.url, 'limited.test/limit/app', 'v1')).toMatchObject({ digest: image.digest, stale: false });
    expect(proxy.seen().slice(before + 1)).toContain('HEAD /v2/limit/app/manifests/v1');
  }, 30_000);

  it.each([
    ['answers 503', { kind: 'refuse', status: 503 } as const],
    ['does not answer in time', { kind: 'hang' } as const],
  ])('serves stale when the upstream %s', async (_label, mode) => {
    const name = `limit/${mode.kind}`;
    const image = await cached('limited.test/', name);
    proxy.set(mode);
    try {
      await sleep(TTL_MS + 200);
      expect(await httpPull(cache.url, `limited.test/${name}`, 'v1')).toMatchObject({ status: 200, digest: image.digest, stale: true });
    } finally {
      proxy.set({ kind: 'forward' });
    }
  }, 30_000);
});
