/**
 * Replayed manifest answers (hot-responses.ts) against a real registry: a hot tag is answered
 * with no upstream request until its TTL, then revalidated and, when it moved, answered anew;
 * an answer by digest goes when gc removes the manifest; Accept variants never share an
 * answer; client auth is checked before any replay; the counters still count every hit.
 */
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '@regcache/registry-protocol';
import { MediaTypes, startRegistry, type RunningRegistry } from '@regcache/testkit';
import type { GcResult } from '../src/index.js';
import { createHotResponses, tagKey } from '../src/hot-responses.js';
import type { HitCell } from '../src/stats.js';
import { startCache, type RunningCache } from './helpers.js';
import { pushTinyImage, served } from './images.js';
import { pinsLapse } from './ops-helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';

const OCI = MediaTypes.ociManifest;

async function get(cache: RunningCache, path: string, headers: Record<string, string> = { accept: OCI }, method = 'GET') {
  const res = await fetch(`${cache.url}${path}`, { method, headers });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, digest: res.headers.get('docker-content-digest'), result: res.headers.get('x-regcache-cache'), body };
}

describe('hot manifest answers', () => {
  let upstream: RunningRegistry;
  let cache: RunningCache;

  beforeAll(async () => {
    upstream = await startRegistry({ deleteEnabled: true });
    cache = await startCache({ upstreams: [{ name: 'docker.io', url: upstream.url, tagTtl: '1s' }] });
  }, 60_000);
  afterAll(async () => {
    await cache?.close();
    await upstream?.stop();
  });

  it('replays a tag within its TTL without asking the upstream, then revalidates and follows a move', async () => {
    const first = await pushTinyImage(upstream, 'hot/app', 'v1');
    const path = '/v2/hot/app/manifests/v1';
    const primed = await get(cache, path);
    expect(primed.digest).toBe(first.digest);
    await upstream.settle();
    const before = served(upstream, 'HEAD', path) + served(upstream, 'GET', path);
    const hitsBefore = cache.cache.stats.snapshot().hits ?? 0;
    const metricsBefore = parsePrometheusText(await cache.cache.metrics.render());
    // Replays read nothing from the store: count the reads while they run.
    const store = cache.cache.store;
    const readBytes = store.readBytes;
    let reads = 0;
    store.readBytes = (digest) => {
      reads += 1;
      return readBytes(digest);
    };
    try {
      for (let i = 0; i < 20; i++) {
        const answer = await get(cache, path, { accept: OCI }, i % 2 === 0 ? 'GET' : 'HEAD');
        expect(answer).toMatchObject({ status: 200, digest: first.digest, result: 'hit' });
      }
    } finally {
      store.readBytes = readBytes;
    }
    expect(reads).toBe(0);
    await upstream.settle();
    expect(served(upstream, 'HEAD', path) + served(upstream, 'GET', path)).toBe(before);
    expect((cache.cache.stats.snapshot().hits ?? 0) - hitsBefore).toBe(20);
    // Replays count in the request metrics too (handed to prom-client at scrape): 20 hits, 10 bodies.
    const metricsAfter = parsePrometheusText(await cache.cache.metrics.render());
    const delta = (name: string, labels: Record<string, string>) => valueOf(metricsAfter, name, labels) - valueOf(metricsBefore, name, labels);
    expect(delta('regcache_requests_total', { route: 'manifest', cache: 'hit', status: '200' })).toBe(20);
    expect(delta('regcache_served_bytes_total', { source: 'cache' })).toBe(10 * primed.body.length);

    const moved = await pushTinyImage(upstream, 'hot/app', 'v1');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await get(cache, path)).digest).toBe(moved.digest);
    await upstream.settle();
    expect(served(upstream, 'HEAD', path)).toBeGreaterThanOrEqual(1);
    expect((await get(cache, path)).digest).toBe(moved.digest);
  }, 30_000);

  it('drops an answer by digest when gc removes the manifest', async () => {
    const image = await pushTinyImage(upstream, 'hot/gc', 'v1');
    const path = `/v2/hot/gc/manifests/${image.digest}`;
    expect((await get(cache, path)).result).toBe('miss');
    expect((await get(cache, path)).result).toBe('hit');
    await pinsLapse();
    const { removed } = (await cache.cache.operations.gc({ maxSize: 0 })) as GcResult;
    expect(removed.map((r) => r.digest)).toContain(image.digest);
    await upstream.settle();
    const fetched = served(upstream, 'GET', path);
    const again = await get(cache, path);
    expect(again).toMatchObject({ status: 200, digest: image.digest, result: 'miss' });
    await upstream.settle();
    expect(served(upstream, 'GET', path)).toBe(fetched + 1);
  }, 30_000);

  it('never answers one Accept with what another got', async () => {
    const image = await pushTinyImage(upstream, 'hot/accept', 'v1');
    const path = '/v2/hot/accept/manifests/v1';
    expect((await get(cache, path)).digest).toBe(image.digest);
    expect((await get(cache, path)).result).toBe('hit');
    // Docker's schema 2 only: the OCI manifest is not acceptable, whatever was replayed before.
    const other = await get(cache, path, { accept: MediaTypes.dockerManifest });
    expect(other.status).not.toBe(200);
  }, 30_000);
});

describe('hot manifest answers with client auth', () => {
  it('checks credentials before replaying', async () => {
    const upstream = await startRegistry();
    const cache = await startCache({ upstreamUrl: upstream.url, auth: { tokens: ['hot-token'] } });
    try {
      const image = await pushTinyImage(upstream, 'hot/private', 'v1');
      const path = `/v2/hot/private/manifests/${image.digest}`;
      const auth = { accept: OCI, authorization: 'Bearer hot-token' };
      expect((await get(cache, path, auth)).status).toBe(200);
      expect((await get(cache, path, auth)).result).toBe('hit');
      expect((await get(cache, path)).status).toBe(401);
      expect((await get(cache, path, { ...auth, authorization: 'Bearer wrong' })).status).toBe(401);
    } finally {
      await cache.close();
      await upstream.stop();
    }
  }, 30_000);
});

describe('the hot answer table', () => {
  const request = (url: string, method = 'GET', rawHeaders = ['Accept', OCI]) => ({ method, url, rawHeaders }) as unknown as IncomingMessage;
  const counts: HitCell = { upstream: 'docker.io', repo: 'r', hits: 0, bytes: 0, queued: false };
  const answer = (size: number, expiresAt = Number.POSITIVE_INFINITY, tag?: string) => ({
    head: {},
    body: Buffer.alloc(size),
    digest: `sha256:${'a'.repeat(64)}` as Digest,
    upstream: 'docker.io',
    repo: 'r',
    tag,
    expiresAt,
    counts,
  });

  it('keeps within its byte budget, skips large bodies and expired answers, and answers only GET and HEAD', () => {
    const hot = createHotResponses({ byHost: false, maxBytes: 1000 });
    hot.remember(request('/a'), answer(600), hot.epoch());
    hot.remember(request('/b'), answer(600), hot.epoch());
    expect(hot.lookup(request('/a'))).toBeUndefined();
    expect(hot.lookup(request('/b', 'HEAD'))).toBeDefined();
    expect(hot.lookup(request('/b', 'DELETE'))).toBeUndefined();
    hot.remember(request('/big'), answer(600 * 1024), hot.epoch());
    expect(hot.lookup(request('/big'))).toBeUndefined();
    hot.remember(request('/old'), answer(10, Date.now() - 1), hot.epoch());
    expect(hot.lookup(request('/old'))).toBeUndefined();
  });

  it('matches Accept (any case of the name) exactly, and never a header sent twice', () => {
    const hot = createHotResponses({ byHost: false });
    const oci = answer(1);
    hot.remember(request('/m'), oci, hot.epoch());
    expect(hot.lookup(request('/m', 'GET', ['accept', OCI]))).toBe(oci);
    expect(hot.lookup(request('/m', 'GET', ['ACCEPT', OCI, 'Host', 'x']))).toBe(oci);
    expect(hot.lookup(request('/m', 'GET', ['Accept', `${OCI}, */*`]))).toBeUndefined();
    expect(hot.lookup(request('/m', 'GET', []))).toBeUndefined();
    expect(hot.lookup(request('/m', 'GET', ['Accept', OCI, 'Accept', OCI]))).toBeUndefined();
    hot.remember(request('/n', 'GET', ['Accept', OCI, 'accept', OCI]), answer(1), hot.epoch());
    expect(hot.lookup(request('/n', 'GET', ['Accept', `${OCI}, ${OCI}`]))).toBeUndefined();
  });

  it('keys by Host only when Host routing is on', () => {
    const byHost = createHotResponses({ byHost: true });
    byHost.remember(request('/h', 'GET', ['Accept', OCI, 'Host', 'a.example']), answer(1), byHost.epoch());
    expect(byHost.lookup(request('/h', 'GET', ['Accept', OCI, 'Host', 'b.example']))).toBeUndefined();
    expect(byHost.lookup(request('/h', 'GET', ['Host', 'a.example', 'Accept', OCI]))).toBeDefined();
    const plain = createHotResponses({ byHost: false });
    plain.remember(request('/h', 'GET', ['Accept', OCI, 'Host', 'a.example']), answer(1), plain.epoch());
    expect(plain.lookup(request('/h', 'GET', ['Accept', OCI, 'Host', 'b.example']))).toBeDefined();
  });

  it('forgets by digest and by tag, and keeps nothing read before a forget', () => {
    const hot = createHotResponses({ byHost: false });
    hot.remember(request('/d'), answer(1), hot.epoch());
    hot.remember(request('/t'), answer(1, Date.now() + 60_000, tagKey('docker.io', 'r', 'v1')), hot.epoch());
    hot.forgetTag('docker.io', 'r', 'v2');
    expect(hot.lookup(request('/t'))).toBeDefined();
    hot.forgetTag('docker.io', 'r', 'v1');
    expect(hot.lookup(request('/t'))).toBeUndefined();
    expect(hot.lookup(request('/d'))).toBeDefined();
    const before = hot.epoch();
    hot.forgetDigest(`sha256:${'a'.repeat(64)}` as Digest);
    expect(hot.lookup(request('/d'))).toBeUndefined();
    // A request that read its answer before that removal does not put it back.
    hot.remember(request('/d'), answer(1), before);
    expect(hot.lookup(request('/d'))).toBeUndefined();
    // A tag write since the request began only matters to answers by tag.
    const beforeWrite = hot.epoch();
    hot.forgetTag('docker.io', 'r', 'other');
    hot.remember(request('/d2'), answer(1), beforeWrite);
    expect(hot.lookup(request('/d2'))).toBeDefined();
    hot.remember(request('/t2'), answer(1, Date.now() + 60_000, tagKey('docker.io', 'r', 'v9')), beforeWrite);
    expect(hot.lookup(request('/t2'))).toBeUndefined();
  });
});

describe('the hot answer table for replicas', () => {
  const request = (url: string) => ({ method: 'GET', url, rawHeaders: ['Accept', OCI] }) as unknown as IncomingMessage;
  const counts: HitCell = { upstream: 'docker.io', repo: 'r', hits: 0, bytes: 0, queued: false };
  const answer = (digest: string, tag?: string) => ({
    head: {},
    body: Buffer.alloc(10),
    digest: digest as Digest,
    upstream: 'docker.io',
    repo: 'r',
    tag,
    expiresAt: tag === undefined ? Number.POSITIVE_INFINITY : Date.now() + 60_000,
    counts,
  });
  const d1 = `sha256:${'1'.repeat(64)}`;
  const d2 = `sha256:${'2'.repeat(64)}`;

  it('offers every kept answer with its key, and bumps the shared generation whenever an answer leaves', () => {
    const hot = createHotResponses({ byHost: false, maxEntries: 2 });
    const offered: string[] = [];
    hot.onRemember((key) => offered.push(`${key.target} ${key.accept}`));
    const generation = () => Atomics.load(hot.generation, 0);
    hot.remember(request('/a'), answer(d1), hot.epoch());
    expect(offered).toEqual([`/a ${OCI}`]);
    const g0 = generation();
    // Nothing to drop: a forget leaves the generation alone (replicas keep what they have).
    hot.forgetDigest(d2 as Digest);
    hot.forgetTag('docker.io', 'r', 'nope');
    expect(generation()).toBe(g0);
    hot.forgetDigest(d1 as Digest);
    expect(generation()).toBe(g0 + 1);
    // Starting over when full drops answers too: replicas must drop theirs.
    hot.keep({ target: '/b', accept: OCI, host: '' }, answer(d1));
    hot.keep({ target: '/c', accept: OCI, host: '' }, answer(d2));
    expect(generation()).toBe(g0 + 1);
    hot.keep({ target: '/d', accept: OCI, host: '' }, answer(d2));
    expect(generation()).toBe(g0 + 2);
    expect(hot.lookup(request('/d'))).toBeDefined();
    expect(hot.lookup(request('/b'))).toBeUndefined();
    hot.keep({ target: '/t', accept: OCI, host: '' }, answer(d1, tagKey('docker.io', 'r', 'v1')));
    const g1 = generation();
    hot.forgetTag('docker.io', 'r', 'v1');
    expect(generation()).toBe(g1 + 1);
  });

  it('offers a listener that comes late every answer held, then what is kept after', () => {
    const hot = createHotResponses({ byHost: false });
    hot.keep({ target: '/digest', accept: OCI, host: '' }, answer(d1));
    hot.keep({ target: '/tag', accept: OCI, host: '' }, answer(d2, tagKey('docker.io', 'r', 'v1')));
    hot.forgetDigest(d1 as Digest);
    // A front thread started after the table filled: it must not miss what is already hot.
    const offered: string[] = [];
    hot.onRemember((key, a) => offered.push(`${key.target} ${a.digest}`));
    expect(offered).toEqual([`/tag ${d2}`]);
    hot.keep({ target: '/other', accept: OCI, host: '' }, answer(d1));
    expect(offered).toEqual([`/tag ${d2}`, `/other ${d1}`]);
  });

  it('offers what is left again after a drop, once for a burst of drops', async () => {
    const hot = createHotResponses({ byHost: false });
    const offered: string[] = [];
    hot.onRemember((key) => offered.push(key.target));
    hot.keep({ target: '/digest', accept: OCI, host: '' }, answer(d1));
    hot.keep({ target: '/tag', accept: OCI, host: '' }, answer(d2, tagKey('docker.io', 'r', 'v1')));
    hot.keep({ target: '/other', accept: OCI, host: '' }, answer(d2));
    offered.length = 0;
    // A tag moves and a blob goes, in one burst: replicas empty themselves, then get the rest back once.
    hot.forgetTag('docker.io', 'r', 'v1');
    hot.forgetDigest(d2 as Digest);
    expect(offered).toEqual([]);
    await expect.poll(() => offered, { timeout: 2000 }).toEqual(['/digest']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(offered).toEqual(['/digest']);
  });
});
