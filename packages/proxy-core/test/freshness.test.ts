/**
 * Tag freshness against a real registry, counted in its access log: within `tagTtl` a tag
 * is answered from disk with no upstream request even after it moved upstream; past the TTL
 * one HEAD revalidates it (and only a changed digest costs a GET); a digest is never
 * revalidated; clients arriving together share one HEAD; a tag deleted upstream is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteManifest, skopeoPull, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';
import { httpPull, pushTinyImage, served } from './images.js';

/**
 * Long enough for a tag push and a skopeo pull to fit inside it on a loaded CI machine (with
 * 3 s, the guard below tripped at 3.4 s while two suites ran side by side).
 */
const TTL_MS = 5000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('tag freshness', () => {
  let upstream: RunningRegistry;
  let cache: RunningCache;

  beforeAll(async () => {
    upstream = await startRegistry();
    cache = await startCache({ upstreams: [{ name: 'alpha.test', url: upstream.url, tagTtl: `${TTL_MS}ms` }] });
  }, 60_000);

  afterAll(async () => {
    await cache?.close();
    await upstream?.stop();
  });

  /** Upstream requests since the last call (the registry's own access log). */
  async function upstreamRequests(): Promise<string[]> {
    await upstream.settle();
    const seen = upstream.requests().map((e) => `${e.method} ${e.path}`);
    upstream.resetRequests();
    return seen;
  }

  it('serves the old digest within the TTL with no upstream request, and the new one after it', async () => {
    const first = await pushTinyImage(upstream, 'fresh/app', 'latest');
    const pulledAt = Date.now();
    const pulled = await skopeoPull(`${cache.host}/fresh/app:latest`);
    // The cache fetched the tag somewhere between pulledAt and pulledBy: its TTL runs from then.
    const pulledBy = Date.now();
    expect(pulled.manifestDigest).toBe(first.digest);
    await upstreamRequests();

    const moved = await pushTinyImage(upstream, 'fresh/app', 'latest');
    expect(moved.digest).not.toBe(first.digest);
    const within = await skopeoPull(`${cache.host}/fresh/app:latest`);
    // Guard: the pull above must have started inside the TTL for the assertion to mean anything.
    expect(Date.now() - pulledAt).toBeLessThan(TTL_MS);
    expect(within.manifestDigest).toBe(first.digest);
    expect(await upstreamRequests()).toEqual([]);

    await sleep(TTL_MS - (Date.now() - pulledBy) + 200);
    const after = await skopeoPull(`${cache.host}/fresh/app:latest`);
    expect(after.code, after.stderr).toBe(0);
    expect(after.manifestDigest).toBe(moved.digest);
    const seen = await upstreamRequests();
    expect(seen.filter((r) => r === 'HEAD /v2/fresh/app/manifests/latest')).toHaveLength(1);
    expect(seen.filter((r) => r === 'GET /v2/fresh/app/manifests/latest')).toHaveLength(1);
  }, 60_000);

  it('revalidates an unchanged tag with one HEAD and no GET; a digest is never revalidated', async () => {
    const image = await pushTinyImage(upstream, 'fresh/same', 'v1');
    expect((await httpPull(cache.url, 'fresh/same', 'v1')).digest).toBe(image.digest);
    await sleep(TTL_MS + 200);
    await upstreamRequests();
    expect((await httpPull(cache.url, 'fresh/same', image.digest)).digest).toBe(image.digest);
    expect(await upstreamRequests()).toEqual([]);
    expect((await httpPull(cache.url, 'fresh/same', 'v1')).digest).toBe(image.digest);
    expect(await upstreamRequests()).toEqual(['HEAD /v2/fresh/same/manifests/v1']);
  }, 30_000);

  it('sends one HEAD for many clients revalidating a tag at once', async () => {
    const image = await pushTinyImage(upstream, 'fresh/herd', 'v1');
    await httpPull(cache.url, 'fresh/herd', 'v1');
    await sleep(TTL_MS + 200);
    await upstreamRequests();
    const pulls = await Promise.all(Array.from({ length: 10 }, () => httpPull(cache.url, 'fresh/herd', 'v1')));
    for (const pull of pulls) expect(pull.digest).toBe(image.digest);
    expect(served(upstream, 'HEAD', '/v2/fresh/herd/manifests/v1')).toBe(1);
    expect(await upstreamRequests()).toEqual(['HEAD /v2/fresh/herd/manifests/v1']);
  }, 30_000);

  it('forgets a tag the upstream no longer has', async () => {
    const image = await pushTinyImage(upstream, 'fresh/gone', 'v1');
    await httpPull(cache.url, 'fresh/gone', 'v1');
    await deleteManifest(upstream, 'fresh/gone', image.digest);
    await sleep(TTL_MS + 200);
    const res = await fetch(`${cache.url}/v2/fresh/gone/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe('MANIFEST_UNKNOWN');
    expect(await cache.cache.store.getTag('alpha.test', 'fresh/gone', 'v1')).toBeUndefined();
  }, 30_000);
});
