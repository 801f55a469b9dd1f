/**
 * A Docker manifest list behind a tag, and clients that cannot take lists. Distribution (the
 * upstream here), like Docker Hub, answers such a client with the list's linux/amd64 manifest.
 * regcache answers it the same, and never records that answer as the tag's target: every other
 * client still gets the list, whichever client came first, by GET or HEAD, and after the
 * tag's revalidation; and a 404 that was about the Accept is not remembered (`notFoundTtl`).
 * By digest the Accept does not matter, cold as warm. An Accept written for something else
 * (`application/json`) counts as no Accept: the cached tag, online or offline.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaTypes, pushBlob, pushManifest, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';
import { pushTinyImage } from './images.js';

const FULL = [MediaTypes.ociManifest, MediaTypes.dockerManifest, MediaTypes.ociIndex, MediaTypes.dockerManifestList].join(', ');
const DOCKER_ONLY = MediaTypes.dockerManifest;
const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface ListImage {
  list: string;
  amd64: string;
  arm64: string;
}

/**
 * One Docker v2 manifest (config + one layer) per platform under a Docker manifest list
 * `repo:tag`. With `between`, the tag names the amd64 manifest alone until `between` has run.
 */
async function pushList(registry: RunningRegistry, repo: string, tag: string, between?: () => Promise<void>): Promise<ListImage> {
  const entries: Array<{ digest: string; size: number; platform: { architecture: string; os: string } }> = [];
  for (const architecture of ['amd64', 'arm64']) {
    const config = Buffer.from(JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
    const layer = randomBytes(1024);
    await pushBlob(registry, repo, config);
    await pushBlob(registry, repo, layer);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.dockerManifest,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha256(layer) }],
      }),
    );
    const digest = await pushManifest(registry, repo, between !== undefined && architecture === 'amd64' ? tag : sha256(manifest), manifest, MediaTypes.dockerManifest);
    entries.push({ digest, size: manifest.length, platform: { architecture, os: 'linux' } });
  }
  await between?.();
  const manifests = entries.map((e) => ({ mediaType: MediaTypes.dockerManifest, ...e }));
  const list = await pushManifest(registry, repo, tag, JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifestList, manifests }), MediaTypes.dockerManifestList);
  return { list, amd64: entries[0]!.digest, arm64: entries[1]!.digest };
}

describe('a manifest list, and clients that cannot take lists', () => {
  let upstream: RunningRegistry;
  let cache: RunningCache;

  beforeAll(async () => {
    upstream = await startRegistry();
    cache = await startCache({ upstreams: [{ name: 'docker.io', url: upstream.url, tagTtl: '1s', notFoundTtl: '1m' }] });
  }, 60_000);

  afterAll(async () => {
    await cache?.close();
    await upstream?.stop();
  });

  async function digestOf(base: string, repo: string, accept: string, method = 'GET'): Promise<string | null> {
    const res = await fetch(`${base}/v2/${repo}/manifests/v1`, { method, headers: { accept } });
    if (method === 'GET') await res.arrayBuffer();
    expect(res.status).toBe(200);
    return res.headers.get('docker-content-digest');
  }

  it.each([
    ['GET', 'GET'],
    ['HEAD', 'GET'],
    ['GET', 'HEAD'],
  ])('answers %s without lists with amd64 first, then %s with every type with the list', async (narrowed, full) => {
    const repo = `lists/${narrowed.toLowerCase()}-${full.toLowerCase()}`;
    const image = await pushList(upstream, repo, 'v1');
    expect(await digestOf(upstream.url, repo, DOCKER_ONLY)).toBe(image.amd64);
    expect(await digestOf(cache.url, repo, DOCKER_ONLY, narrowed)).toBe(image.amd64);
    expect(await digestOf(cache.url, repo, FULL, full)).toBe(image.list);
    expect(await digestOf(cache.url, repo, DOCKER_ONLY, narrowed)).toBe(image.amd64);
    expect(await digestOf(cache.url, repo, FULL, full)).toBe(image.list);
    expect((await cache.cache.store.getTag('docker.io', repo, 'v1'))?.digest).toBe(image.list);
  });

  it('keeps the list as the tag across revalidations by clients that cannot take lists', async () => {
    const repo = 'lists/revalidated';
    const image = await pushList(upstream, repo, 'v1');
    expect(await digestOf(cache.url, repo, FULL)).toBe(image.list);
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await digestOf(cache.url, repo, DOCKER_ONLY)).toBe(image.amd64);
      expect(await digestOf(cache.url, repo, `${FULL}, ${DOCKER_ONLY}`)).toBe(image.list);
      expect((await cache.cache.store.getTag('docker.io', repo, 'v1'))?.digest).toBe(image.list);
    }
  });

  it('sees an image become a list on revalidation, also when its amd64 manifest stays the same', async () => {
    const repo = 'lists/became';
    // Takes both single types but no index: the client a registry would answer with amd64 from a list.
    const singles = `${MediaTypes.dockerManifest}, ${MediaTypes.ociManifest}`;
    let single = '';
    const image = await pushList(upstream, repo, 'v1', async () => {
      single = (await digestOf(cache.url, repo, FULL)) ?? '';
    });
    expect(single).toBe(image.amd64);
    expect((await cache.cache.store.getTag('docker.io', repo, 'v1'))?.digest).toBe(image.amd64);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await digestOf(cache.url, repo, singles)).toBe(image.amd64);
    expect(await digestOf(cache.url, repo, FULL)).toBe(image.list);
    expect((await cache.cache.store.getTag('docker.io', repo, 'v1'))?.digest).toBe(image.list);
  });

  it('remembers no 404 that was about the Accept, and answers by digest whatever the Accept, cold as warm', async () => {
    const image = await pushTinyImage(upstream, 'lists/oci-only', 'v1');
    const path = `${cache.url}/v2/lists/oci-only/manifests`;
    // An OCI manifest to a client that takes Docker's alone: the upstream's 404 — about the Accept, not the tag.
    const narrow = await fetch(`${path}/v1`, { headers: { accept: DOCKER_ONLY } });
    expect([narrow.status, ((await narrow.json()) as { errors: Array<{ code: string }> }).errors[0]?.code]).toEqual([404, 'MANIFEST_UNKNOWN']);
    expect(await digestOf(cache.url, 'lists/oci-only', FULL)).toBe(image.digest);
    // The tag moves: past the TTL it is fetched again, which no remembered 404 stands in the way of.
    const moved = await pushTinyImage(upstream, 'lists/oci-only', 'v1');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await digestOf(cache.url, 'lists/oci-only', FULL)).toBe(moved.digest);
    const other = await pushTinyImage(upstream, 'lists/oci-only', 'v2');
    const byDigest = await fetch(`${path}/${other.digest}`, { headers: { accept: DOCKER_ONLY } });
    await byDigest.arrayBuffer();
    expect([byDigest.status, byDigest.headers.get('docker-content-digest')]).toEqual([200, other.digest]);
    const third = await pushTinyImage(upstream, 'lists/oci-only', 'v3');
    const headByDigest = await fetch(`${path}/${third.digest}`, { method: 'HEAD', headers: { accept: DOCKER_ONLY } });
    expect([headByDigest.status, headByDigest.headers.get('docker-content-digest')]).toEqual([200, third.digest]);
  });

  it('takes an Accept that names no manifest type as none: the cached tag, with the upstream down too', async () => {
    const repo = 'lists/json';
    const image = await pushList(upstream, repo, 'v1');
    expect(await digestOf(cache.url, repo, FULL)).toBe(image.list);
    await upstream.settle();
    const asked = upstream.requests().length;
    expect(await digestOf(cache.url, repo, 'application/json')).toBe(image.list);
    expect(await digestOf(cache.url, repo, 'text/html, */*;q=0.1')).toBe(image.list);
    await upstream.settle();
    expect(upstream.requests().length).toBe(asked);
    // Past the TTL with the upstream gone: served stale, as with no Accept.
    await upstream.stop();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const res = await fetch(`${cache.url}/v2/${repo}/manifests/v1`, { headers: { accept: 'application/json' } });
    await res.arrayBuffer();
    expect([res.status, res.headers.get('docker-content-digest'), res.headers.get('x-regcache-stale')]).toEqual([200, image.list, 'true']);
  });
});
