/**
 * The walking skeleton end to end: a real distribution registry (Debian's docker-registry)
 * with images generated and pushed by skopeo; regcache in front of it; skopeo pulls each
 * image through regcache and every digest is checked; the upstream's own access log shows
 * each blob fetched once; with the upstream stopped, pulls by digest are served from disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedImages, skopeoPull, startRegistry, type RunningRegistry, type TestImage } from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';

describe('pull through regcache from a real registry', () => {
  let upstream: RunningRegistry;
  let cache: RunningCache;
  let images: { docker: TestImage; oci: TestImage; multiArch: TestImage };

  beforeAll(async () => {
    upstream = await startRegistry();
    images = await seedImages(upstream, { prefix: 'e2e' });
    cache = await startCache({ upstreamUrl: upstream.url });
  }, 120_000);

  afterAll(async () => {
    await cache?.close();
    await upstream?.stop();
  });

  const all = () => [images.docker, images.oci, images.multiArch];

  it('pulls the Docker schema2, OCI and multi-arch images by tag with every digest intact', async () => {
    for (const image of all()) {
      const pulled = await skopeoPull(`${cache.host}/${image.name}:${image.tag}`, { all: true });
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(pulled.manifestDigest).toBe(image.digest);
      for (const blob of image.blobs) expect(pulled.blobDigests).toContain(blob.digest);
    }
  }, 120_000);

  it('serves the second pull from disk: the upstream saw each blob once', async () => {
    for (const image of all()) {
      const pulled = await skopeoPull(`${cache.host}/${image.name}@${image.digest}`, { all: true });
      expect(pulled.code, pulled.stderr).toBe(0);
    }
    for (const image of all()) {
      for (const blob of image.blobs) {
        expect(upstream.countRequests('GET', `/v2/${image.name}/blobs/${blob.digest}`), blob.digest).toBe(1);
      }
    }
  }, 120_000);

  it('serves cached manifests with the upstream headers', async () => {
    const image = images.docker;
    const direct = await fetch(`${upstream.url}/v2/${image.name}/manifests/${image.digest}`, { headers: { accept: image.mediaType } });
    const cached = await fetch(`${cache.url}/v2/${image.name}/manifests/${image.digest}`, { headers: { accept: image.mediaType } });
    expect(cached.status).toBe(200);
    for (const header of ['docker-content-digest', 'content-type', 'content-length']) {
      expect(cached.headers.get(header), header).toBe(direct.headers.get(header));
    }
    expect(Buffer.from(await cached.arrayBuffer())).toEqual(Buffer.from(await direct.arrayBuffer()));
  });

  it('still serves pulls by digest with the upstream stopped', async () => {
    await upstream.stop();
    try {
      for (const image of all()) {
        const pulled = await skopeoPull(`${cache.host}/${image.name}@${image.digest}`, { all: true });
        expect(pulled.code, pulled.stderr).toBe(0);
        expect(pulled.manifestDigest).toBe(image.digest);
      }
    } finally {
      await upstream.start();
    }
  }, 120_000);
});
