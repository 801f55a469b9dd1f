/**
 * `/v2/<name>/tags/list` through regcache: `n`/`last` pagination in lexical order (applied by
 * regcache, since distribution 2.8 ignores both and answers in storage order) with a `Link`
 * that comes back through the same route (prefix or `ns=`), each page cached for the tag TTL (no
 * upstream request within it), refreshed after it, and served stale when the upstream is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaTypes, pushManifest, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';
import { pushTinyImage, served } from './images.js';

const TTL_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Page {
  status: number;
  tags: string[];
  link: string | null;
  stale: boolean;
  cache: string | null;
}

describe('tags list', () => {
  let upstream: RunningRegistry;
  let cache: RunningCache;
  let manifest: Buffer;

  beforeAll(async () => {
    upstream = await startRegistry();
    await pushTinyImage(upstream, 'list/app', 't1');
    manifest = Buffer.from(await (await fetch(`${upstream.url}/v2/list/app/manifests/t1`, { headers: { accept: MediaTypes.ociManifest } })).arrayBuffer());
    for (const tag of ['t2', 't3', 't4', 't5']) await pushManifest(upstream, 'list/app', tag, manifest, MediaTypes.ociManifest);
    cache = await startCache({ upstreams: [{ name: 'alpha.test', url: upstream.url, tagTtl: `${TTL_MS}ms` }] });
  }, 60_000);

  afterAll(async () => {
    await cache?.close();
    await upstream?.stop();
  });

  async function page(path: string): Promise<Page> {
    const res = await fetch(`${cache.url}${path}`);
    const body = (await res.json()) as { tags?: string[] };
    return { status: res.status, tags: body.tags ?? [], link: res.headers.get('link'), stale: res.headers.get('x-regcache-stale') === 'true', cache: res.headers.get('x-regcache-cache') };
  }

  const nextPath = (link: string | null): string => /^<([^>]+)>; rel="next"$/.exec(link ?? '')?.[1] ?? 'no link';

  it('paginates with n/last and a Link back through the same prefix', async () => {
    const first = await page('/v2/alpha.test/list/app/tags/list?n=2');
    expect(first).toMatchObject({ status: 200, tags: ['t1', 't2'], link: '</v2/alpha.test/list/app/tags/list?n=2&last=t2>; rel="next"' });
    const second = await page(nextPath(first.link));
    expect(second.tags).toEqual(['t3', 't4']);
    const third = await page(nextPath(second.link));
    expect(third).toMatchObject({ tags: ['t5'], link: null });
  });

  it('keeps ns= in the Link', async () => {
    const first = await page('/v2/list/app/tags/list?n=3&ns=alpha.test');
    expect(first.tags).toEqual(['t1', 't2', 't3']);
    expect(first.link).toBe('</v2/list/app/tags/list?n=3&last=t3&ns=alpha.test>; rel="next"');
    expect((await page(nextPath(first.link))).tags).toEqual(['t4', 't5']);
  });

  it('serves a page from cache within the TTL and asks again after it', async () => {
    await sleep(TTL_MS + 100);
    await pushManifest(upstream, 'list/app', 't6', manifest, MediaTypes.ociManifest);
    await upstream.settle();
    upstream.resetRequests();
    expect((await page('/v2/alpha.test/list/app/tags/list')).tags).toContain('t6');
    const cached = await page('/v2/alpha.test/list/app/tags/list');
    expect(cached).toMatchObject({ cache: 'hit', stale: false });
    await upstream.settle();
    expect(served(upstream, 'GET', '/v2/list/app/tags/list')).toBe(1);
  });

  it('serves the cached page, marked stale, with the upstream stopped', async () => {
    expect((await page('/v2/alpha.test/list/app/tags/list?n=2')).tags).toEqual(['t1', 't2']);
    await sleep(TTL_MS + 100);
    await upstream.stop();
    try {
      const stale = await page('/v2/alpha.test/list/app/tags/list?n=2');
      expect(stale).toMatchObject({ status: 200, tags: ['t1', 't2'], stale: true, cache: 'stale' });
      expect((await page('/v2/alpha.test/list/app/tags/list?n=4')).status).toBe(503);
    } finally {
      await upstream.start();
    }
  });
});
