/**
 * Remembered 404s (`upstreams[].notFoundTtl`, not-found.ts) against a real registry: within the
 * TTL a missing manifest is answered MANIFEST_UNKNOWN — GET and HEAD, by tag and by digest —
 * without asking again; a tag pushed meanwhile is seen when the TTL ends or at once after
 * `expire`; with the default (0) every miss asks. The memo itself: only 404s, bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaTypes, pushSmallImage, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { UpstreamRefusedError } from '../src/errors.js';
import { createNotFoundMemo } from '../src/not-found.js';
import { startCache, type RunningCache } from './helpers.js';

async function manifest(cache: RunningCache, name: string, reference: string, method = 'GET'): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${cache.url}/v2/${name}/manifests/${reference}`, { method, headers: { accept: MediaTypes.ociManifest } });
  const text = await res.text();
  if (text === '' || res.status < 400) return { status: res.status };
  return { status: res.status, code: (JSON.parse(text) as { errors: Array<{ code: string }> }).errors[0]?.code };
}

describe('remembered 404s', () => {
  let registry: RunningRegistry;
  let remembering: RunningCache;
  let plain: RunningCache;

  beforeAll(async () => {
    registry = await startRegistry();
    [remembering, plain] = await Promise.all([
      startCache({ upstreams: [{ name: 'docker.io', url: registry.url, notFoundTtl: '1h' }] }),
      startCache({ upstreams: [{ name: 'docker.io', url: registry.url }] }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([remembering?.close(), plain?.close()]);
    await registry?.stop();
  });

  const asked = async (path: string): Promise<number> => {
    await registry.settle();
    return registry.requests().filter((e) => e.path === path).length;
  };

  it('answers a missing manifest from memory within notFoundTtl, and sees a pushed tag after expire', async () => {
    registry.resetRequests();
    const missing = { status: 404, code: 'MANIFEST_UNKNOWN' };
    expect(await manifest(remembering, 'nf/app', '1')).toEqual(missing);
    expect(await manifest(remembering, 'nf/app', '1')).toEqual(missing);
    expect(await manifest(remembering, 'nf/app', '1', 'HEAD')).toEqual({ status: 404 });
    const digest = `sha256:${'e'.repeat(64)}`;
    expect(await manifest(remembering, 'nf/app', digest)).toEqual(missing);
    expect(await manifest(remembering, 'nf/app', digest)).toEqual(missing);
    expect(await asked('/v2/nf/app/manifests/1')).toBe(1);
    expect(await asked(`/v2/nf/app/manifests/${digest}`)).toBe(1);

    const pushed = await pushSmallImage(registry, 'nf/app', '1');
    expect(await manifest(remembering, 'nf/app', '1')).toEqual(missing);
    expect(await asked('/v2/nf/app/manifests/1')).toBe(1);
    expect(await remembering.cache.operations.expire({ images: ['nf/app:1'] })).toMatchObject({ notFound: ['docker.io/nf/app:1'], notFoundForgotten: ['docker.io/nf/app:1'] });
    // Nothing left to forget: a second expire says so.
    expect((await remembering.cache.operations.expire({ images: ['nf/app:1'] })).notFoundForgotten).toEqual([]);
    const res = await fetch(`${remembering.url}/v2/nf/app/manifests/1`, { headers: { accept: MediaTypes.ociManifest } });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(pushed.digest);
  }, 60_000);

  it('asks again for every miss by default', async () => {
    registry.resetRequests();
    expect((await manifest(plain, 'nf/other', '1')).status).toBe(404);
    expect((await manifest(plain, 'nf/other', '1')).status).toBe(404);
    expect(await asked('/v2/nf/other/manifests/1')).toBe(2);
  }, 30_000);

  it('a short TTL ends by itself', async () => {
    const brief = await startCache({ upstreams: [{ name: 'docker.io', url: registry.url, notFoundTtl: '2s' }] });
    try {
      expect((await manifest(brief, 'nf/brief', '1')).status).toBe(404);
      await pushSmallImage(registry, 'nf/brief', '1');
      expect((await manifest(brief, 'nf/brief', '1')).status).toBe(404);
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      expect((await manifest(brief, 'nf/brief', '1')).status).toBe(200);
    } finally {
      await brief.close();
    }
  }, 30_000);
});

describe('createNotFoundMemo', () => {
  it('keeps only 404s, only with a TTL, for the TTL, and at most 10 000 of them', () => {
    let now = 1_000;
    const memo = createNotFoundMemo(() => now);
    const gone = new UpstreamRefusedError('u', 404);
    memo.remember('a', gone, 100);
    memo.remember('b', new UpstreamRefusedError('u', 401), 100);
    memo.remember('c', new Error('boom'), 100);
    memo.remember('d', gone, 0);
    expect(['a', 'b', 'c', 'd'].map((k) => memo.get(k) !== undefined)).toEqual([true, false, false, false]);
    now += 100;
    expect(memo.get('a')).toBeUndefined();
    for (let i = 0; i <= 10_000; i++) memo.remember(`k${i}`, gone, 1_000);
    expect(memo.get('k0')).toBeUndefined();
    expect(memo.get('k1')).toBe(gone);
    memo.forget('k1');
    expect(memo.get('k1')).toBeUndefined();
    expect(memo.get('k2')).toBe(gone);
  });
});
