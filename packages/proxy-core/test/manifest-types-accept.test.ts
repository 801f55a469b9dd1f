/**
 * A manifest of a type regcache cannot read, pulled by a client whose Accept does not name it
 * (docker and skopeo list only the image types): the upstream, asked with only the current
 * types, sent it all the same, so there is nothing else it could pick — the tag is served from
 * the cache like any other, not passed through (a counted upstream pull) on every request. And
 * such a manifest is kept under the body's own mediaType, not under a Content-Type that
 * disagrees and names a type regcache reads (it would then fail to read what it filed so).
 * Real parts: a docker-registry behind the testkit's fault proxy, which serves the bodies.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Digest } from '@regcache/registry-protocol';
import { MediaTypes, pushBlob } from '@regcache/testkit';
import { useProxiedCache } from './helpers.js';
import { pushTinyImage } from './images.js';

const ARTIFACT = 'application/vnd.oci.artifact.manifest.v1+json';
/** What docker sends: the image types and schema 1, nothing else. */
const DOCKER_ACCEPT = [MediaTypes.dockerManifest, MediaTypes.dockerManifestList, MediaTypes.ociManifest, MediaTypes.ociIndex, 'application/vnd.docker.distribution.manifest.v1+prettyjws'].join(', ');
const sha256 = (bytes: Buffer): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

async function artifactOf(upstream: Parameters<typeof pushBlob>[0], repo: string, artifactType: string): Promise<Buffer> {
  await pushTinyImage(upstream, repo, 'v1');
  const content = Buffer.from(`blob of ${artifactType}`);
  const blob = { mediaType: 'application/octet-stream', size: content.length, digest: await pushBlob(upstream, repo, content) };
  return Buffer.from(JSON.stringify({ mediaType: ARTIFACT, artifactType, blobs: [blob] }));
}

describe('manifests of types regcache cannot read, and the Accept', () => {
  const parts = useProxiedCache({ upstreams: [{ name: 'docker.io', url: '', tagTtl: '1h' }] });

  it('a client that does not name the type: served from the cache after the first pull, GET and HEAD', async () => {
    const { upstream, proxy, cache } = parts();
    const repo = 'accept-artifact/app';
    const manifest = await artifactOf(upstream, repo, 'application/x-accept');
    proxy.setFault({ kind: 'body', body: manifest, headers: { 'content-type': ARTIFACT } }, { match: /\/manifests\// });
    const answers: Array<[number, string | null]> = [];
    try {
      for (const method of ['GET', 'GET', 'HEAD', 'GET']) {
        const res = await fetch(`${cache.url}/v2/${repo}/manifests/v1`, { method, headers: { accept: DOCKER_ACCEPT } });
        expect(res.headers.get('content-type')).toBe(ARTIFACT);
        expect(res.headers.get('docker-content-digest')).toBe(sha256(manifest));
        if (method === 'GET') expect(Buffer.from(await res.arrayBuffer()).equals(manifest)).toBe(true);
        answers.push([res.status, res.headers.get('x-regcache-cache')]);
      }
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect(answers).toEqual([[200, 'miss'], [200, 'hit'], [200, 'hit'], [200, 'hit']]);
    expect(proxy.requests().filter((r) => r.url.startsWith(`/v2/${repo}/manifests/`)).map((r) => r.method)).toEqual(['GET']);
  });

  it('a body whose mediaType disagrees with a current Content-Type: kept and served under its own type', async () => {
    const { upstream, proxy, cache } = parts();
    const repo = 'accept-disagree/app';
    const manifest = await artifactOf(upstream, repo, 'application/x-disagree');
    proxy.setFault({ kind: 'body', body: manifest, headers: { 'content-type': MediaTypes.ociManifest } }, { match: /\/manifests\// });
    try {
      const first = await fetch(`${cache.url}/v2/${repo}/manifests/v1`);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toBe(ARTIFACT);
      expect(Buffer.from(await first.arrayBuffer()).equals(manifest)).toBe(true);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect((await cache.cache.store.stat(sha256(manifest)))?.mediaType).toBe(ARTIFACT);
    expect((await cache.cache.store.getTag('docker.io', repo, 'v1'))?.mediaType).toBe(ARTIFACT);
  });
});
