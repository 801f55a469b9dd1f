/**
 * Replayed manifest answers (hot-responses.ts) against a real registry: a hot tag is answered
 * with no upstream request until its TTL, then revalidated and, when it moved, answered anew;
 * an answer by digest goes when gc removes the manifest; Accept variants never share an
 * answer; client auth is checked before any replay; the counters still count every hit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '@regcache/registry-protocol';
import { MediaTypes, startRegistry, type RunningRegistry } from '@regcache/testkit';
import type { GcResult } from '../src/index.js';
import { createHotResponses } from '../src/hot-responses.js';
import { startCache, type RunningCache } from './helpers.js';
import { pushTinyImage, served } from './images.js';
import { pinsLapse } from './ops-helpers.js';

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
    expect((await get(cache, path)).digest).toBe(first.digest);
    await upstream.settle();
    const before = served(upstream, 'HEAD', path) + served(upstream, 'GET', path);
    const hitsBefore = cache.cache.stats.snapshot().hits ?? 0;
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
  const request = (url: string, method = 'GET') => ({ method, url, headers: { accept: OCI } }) as unknown as IncomingMessage;
  const response = () => {
    const written: Array<Buffer | undefined> = [];
    const res = { writeHead: () => res, end: (body?: Buffer) => void written.push(body) };
    return { res: res as unknown as ServerResponse, written };
  };
  const answer = (size: number, expiresAt = Number.POSITIVE_INFINITY) => ({
    head: {},
    body: Buffer.alloc(size),
    digest: `sha256:${'a'.repeat(64)}` as Digest,
    upstream: 'docker.io',
    repo: 'r',
    tag: undefined,
    expiresAt,
  });

  it('keeps within its byte budget, skips large bodies and expired answers, and answers only GET and HEAD', () => {
    const hot = createHotResponses({ byHost: false, maxBytes: 1000 });
    hot.remember(request('/a'), answer(600));
    hot.remember(request('/b'), answer(600));
    expect(hot.serve(request('/a'), response().res)).toBeUndefined();
    const head = response();
    expect(hot.serve(request('/b', 'HEAD'), head.res)).toBeDefined();
    expect(head.written).toEqual([undefined]);
    expect(hot.serve(request('/b', 'DELETE'), response().res)).toBeUndefined();
    hot.remember(request('/big'), answer(600 * 1024));
    expect(hot.serve(request('/big'), response().res)).toBeUndefined();
    hot.remember(request('/old'), answer(10, Date.now() - 1));
    expect(hot.serve(request('/old'), response().res)).toBeUndefined();
  });
});
