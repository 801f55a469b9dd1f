/**
 * expire (expire.ts) against a real registry behind a fault proxy: an expired tag is
 * revalidated by the next pull with one HEAD (no GET when it did not move, past the hot
 * answer), a tag moved upstream is seen at once instead of after the TTL, and an expired tag
 * is still served, stale, while the upstream is down — which `rm` could not do.
 */
import { describe, expect, it } from 'vitest';
import { MediaTypes, pushSmallImage } from '@regcache/testkit';
import { useProxiedCache, type RunningCache } from './helpers.js';

async function getTag(cache: RunningCache, name: string, tag: string): Promise<{ status: number; digest: string | null; cache: string | null; stale: string | null }> {
  const res = await fetch(`${cache.url}/v2/${name}/manifests/${tag}`, { headers: { accept: MediaTypes.ociManifest } });
  await res.arrayBuffer();
  return { status: res.status, digest: res.headers.get('docker-content-digest'), cache: res.headers.get('x-regcache-cache'), stale: res.headers.get('x-regcache-stale') };
}

/** The manifest requests among those the upstream saw (a manifest miss also prefetches its blobs, in the background). */
const manifestRequests = (seen: string[]): string[] => seen.filter((line) => line.includes('/manifests/'));

describe('regcache-admin expire', () => {
  const fx = useProxiedCache();

  it('revalidates with one HEAD, sees a moved tag at once, and still serves stale while the upstream is down', async () => {
    const { upstream, proxy, cache } = fx();
    const first = await pushSmallImage(upstream, 'exp/app', 'v1');
    expect(await getTag(cache, 'exp/app', 'v1')).toMatchObject({ status: 200, digest: first.digest, cache: 'miss' });
    expect(await getTag(cache, 'exp/app', 'v1')).toMatchObject({ status: 200, digest: first.digest, cache: 'hit' });

    // The inventory (regcache-admin ls) tells a tag due for a check from a fresh one.
    const due = async (): Promise<boolean | undefined> => (await cache.cache.operations.inventory('docker.io/exp/app')).repositories[0]?.tags[0]?.checkDue;
    expect(await due()).toBe(false);

    // Not moved: one HEAD, no GET, still a hit — and fresh again afterwards.
    let before = proxy.seen().length;
    const result = await cache.cache.operations.expire({ images: ['exp/app:v1'] });
    expect(result).toEqual({ images: [{ image: 'docker.io/exp/app:v1', repository: 'docker.io/exp/app', digest: first.digest, tags: ['docker.io/exp/app:v1'] }], notFound: [], tagsExpired: ['docker.io/exp/app:v1'], notFoundForgotten: [] });
    expect(await due()).toBe(true);
    expect(await getTag(cache, 'exp/app', 'v1')).toMatchObject({ status: 200, digest: first.digest, cache: 'hit' });
    expect(await due()).toBe(false);
    expect(await getTag(cache, 'exp/app', 'v1')).toMatchObject({ status: 200, digest: first.digest, cache: 'hit' });
    expect(manifestRequests(proxy.seen().slice(before))).toEqual(['HEAD /v2/exp/app/manifests/v1']);

    // Moved upstream: within the TTL the cache keeps the old one; expired, the next pull gets the new one.
    const second = await pushSmallImage(upstream, 'exp/app', 'v1');
    expect(second.digest).not.toBe(first.digest);
    expect((await getTag(cache, 'exp/app', 'v1')).digest).toBe(first.digest);
    before = proxy.seen().length;
    await cache.cache.operations.expire({ images: ['docker.io/exp/app:v1'] });
    expect(await getTag(cache, 'exp/app', 'v1')).toMatchObject({ status: 200, digest: second.digest, cache: 'miss' });
    expect(manifestRequests(proxy.seen().slice(before))).toEqual(['HEAD /v2/exp/app/manifests/v1', 'GET /v2/exp/app/manifests/v1']);

    // Expired while the upstream is down: the cached manifest, marked stale.
    await cache.cache.operations.expire({ images: ['exp/app:v1'] });
    proxy.setFault({ kind: 'status', status: 503 }, { match: /\/manifests\//, methods: ['GET', 'HEAD'] });
    try {
      expect(await getTag(cache, 'exp/app', 'v1')).toMatchObject({ status: 200, digest: second.digest, stale: 'true' });
    } finally {
      proxy.setFault({ kind: 'none' });
    }
  }, 60_000);

  it('reports images it does not hold and changes nothing for them', async () => {
    const { cache } = fx();
    const result = await cache.cache.operations.expire({ images: ['exp/none:v1'] });
    expect(result).toEqual({ images: [{ image: 'docker.io/exp/none:v1', repository: 'docker.io/exp/none', digest: null, tags: [] }], notFound: ['docker.io/exp/none:v1'], tagsExpired: [], notFoundForgotten: [] });
    await expect(cache.cache.operations.expire({ images: ['exp/BAD:v1'] })).rejects.toThrow(/invalid repository name/);
  });
});
