/**
 * An upstream's repository policy (`repositories.allow` / `deny`) against a real registry:
 * allowed repositories pull with skopeo (Docker Hub's `library/` applied to the patterns as
 * to names); every route of a repository the policy does not serve is 403 DENIED with no
 * request to the upstream, whichever way the upstream is named; warm refuses it too; and a
 * repository cached before it was denied is refused while the policy holds but not lost: with
 * the policy lifted it is served again, all from disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaTypes, skopeoPull, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';
import { httpPull, pushTinyImage, type TinyImage } from './images.js';

const POLICY = { allow: ['*', 'myorg/**'], deny: ['myorg/blocked'] };

async function answer(url: string, method = 'GET'): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { method, headers: { accept: MediaTypes.ociManifest } });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

describe('repository policy', () => {
  let registry: RunningRegistry;
  let tiny: TinyImage;
  let tool: TinyImage;
  let other: TinyImage;
  let cache: RunningCache;

  beforeAll(async () => {
    registry = await startRegistry();
    [tiny, tool, other] = await Promise.all([
      pushTinyImage(registry, 'library/tiny', '1'),
      pushTinyImage(registry, 'myorg/team/tool', '1'),
      pushTinyImage(registry, 'other/x', '1'),
      pushTinyImage(registry, 'myorg/blocked', '1'),
    ]);
    cache = await startCache({ upstreams: [{ name: 'docker.io', url: registry.url, repositories: POLICY }] });
  }, 60_000);

  afterAll(async () => {
    await cache?.close();
    await registry?.stop();
  });

  it('serves what the policy allows: `*` is library/* on Docker Hub, ** reaches any depth', async () => {
    for (const [ref, image] of [[`${cache.host}/tiny:1`, tiny], [`${cache.host}/myorg/team/tool:1`, tool]] as const) {
      const pulled = await skopeoPull(ref);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(pulled.manifestDigest).toBe(image.digest);
    }
  }, 60_000);

  it('answers every route of any other repository 403 DENIED, without asking the upstream', async () => {
    await registry.settle();
    registry.resetRequests();
    const denied = (repo: string) => ({
      status: 403,
      body: { errors: [{ code: 'DENIED', message: `repository ${repo} of docker.io is not served by this cache` }] },
    });
    const layer = tiny.blobs[0] ?? '';
    expect(await answer(`${cache.url}/v2/other/x/manifests/1`)).toEqual(denied('other/x'));
    expect(await answer(`${cache.url}/v2/other/x/manifests/${other.digest}`)).toEqual(denied('other/x'));
    expect(await answer(`${cache.url}/v2/other/x/manifests/1`, 'HEAD')).toEqual({ status: 403, body: undefined });
    expect(await answer(`${cache.url}/v2/other/x/tags/list`)).toEqual(denied('other/x'));
    expect(await answer(`${cache.url}/v2/other/x/referrers/${other.digest}`)).toEqual(denied('other/x'));
    // A blob the cache holds (through an allowed repository) is not served under a denied name.
    expect(await answer(`${cache.url}/v2/other/x/blobs/${layer}`)).toEqual(denied('other/x'));
    // An explicit deny wins over an allow; the path-prefix and ns= ways of naming the upstream meet the same policy.
    expect(await answer(`${cache.url}/v2/myorg/blocked/manifests/1`)).toEqual(denied('myorg/blocked'));
    expect(await answer(`${cache.url}/v2/docker.io/myorg/blocked/manifests/1`)).toEqual(denied('myorg/blocked'));
    expect(await answer(`${cache.url}/v2/myorg/blocked/manifests/1?ns=docker.io`)).toEqual(denied('myorg/blocked'));
    // `*` is one component: library/x is allowed, library/x/y is not.
    expect((await answer(`${cache.url}/v2/library/a/b/manifests/1`)).status).toBe(403);
    const pulled = await skopeoPull(`${cache.host}/other/x:1`);
    expect(pulled.code).not.toBe(0);
    expect(pulled.stderr).toMatch(/denied|not served/i);
    await registry.settle();
    expect(registry.requests()).toEqual([]);
  }, 60_000);

  it('warm refuses a denied image with the reason', async () => {
    expect(await cache.cache.operations.warm({ images: ['other/x:1'] })).toEqual({
      images: [],
      failed: [{ image: 'docker.io/other/x:1', error: 'manifest 1: 403 DENIED repository other/x of docker.io is not served by this cache' }],
    });
  });

  it('refuses a repository cached before it was denied, and keeps its content for when it is allowed again', async () => {
    const open = await startCache({ upstreams: [{ name: 'docker.io', url: registry.url }] });
    const dataDir = open.dataDir;
    try {
      expect((await httpPull(open.url, 'other/x', '1')).digest).toBe(other.digest);
    } finally {
      await open.close();
    }
    const strict = await startCache({ storage: { path: dataDir }, upstreams: [{ name: 'docker.io', url: registry.url, repositories: POLICY }] });
    try {
      expect((await answer(`${strict.url}/v2/other/x/manifests/1`)).status).toBe(403);
      expect((await answer(`${strict.url}/v2/other/x/blobs/${other.blobs[0] ?? ''}`)).status).toBe(403);
    } finally {
      await strict.close();
    }
    await registry.settle();
    registry.resetRequests();
    const lifted = await startCache({ storage: { path: dataDir }, upstreams: [{ name: 'docker.io', url: registry.url, tagTtl: '1h' }] });
    try {
      const again = await httpPull(lifted.url, 'other/x', '1');
      expect(again.digest).toBe(other.digest);
      expect(again.blobs.sort()).toEqual([...other.blobs].sort());
    } finally {
      await lifted.close();
    }
    await registry.settle();
    expect(registry.requests().filter((e) => e.path.includes('/blobs/'))).toEqual([]);
  }, 60_000);
});
