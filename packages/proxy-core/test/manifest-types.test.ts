/**
 * Manifests of types regcache cannot read. A well-formed one of a type it does not know (a
 * vendor's, the withdrawn OCI artifact manifest, one named only by its Content-Type) is, once
 * its bytes match the digest, cached and served verbatim under the upstream's Content-Type —
 * by tag and by digest, from the store after — with nothing prefetched for references regcache
 * cannot read. Docker schema 1, plain or signed (whose digest is not that of the bytes served),
 * is a clear, non-retryable 400 MANIFEST_INVALID as distribution answers it; so is a manifest
 * over 4 MiB. None is a 503 that looks like an outage. The real registry refuses to store such
 * manifests (400 on push), so the fault proxy in front of it serves them in place of a real tag.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MediaTypes, pushBlob } from '@regcache/testkit';
import { errorOf, errorUnder } from './fault-answers.js';
import { useProxiedCache } from './helpers.js';
import { pushTinyImage } from './images.js';

const FULL = [MediaTypes.ociManifest, MediaTypes.dockerManifest, MediaTypes.ociIndex, MediaTypes.dockerManifestList].join(', ');
const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const manifestsOf = (repo: string): RegExp => new RegExp(`^/v2/${repo}/manifests/`);

type Descriptor = { mediaType: string; size: number; digest: string };

const UNKNOWN_BODIES: Record<string, { contentType: string; body: (blob: Descriptor) => unknown }> = {
  'a vendor type': {
    contentType: 'application/vnd.example.unknown.v1+json',
    body: (blob) => ({ schemaVersion: 2, mediaType: 'application/vnd.example.unknown.v1+json', config: blob, layers: [blob] }),
  },
  'the withdrawn OCI artifact manifest': {
    contentType: 'application/vnd.oci.artifact.manifest.v1+json',
    body: (blob) => ({ mediaType: 'application/vnd.oci.artifact.manifest.v1+json', artifactType: 'application/x-test', blobs: [blob] }),
  },
  'a type named only by its Content-Type': {
    contentType: 'application/vnd.example.other.v1+json',
    body: (blob) => ({ schemaVersion: 2, config: blob, layers: [blob] }),
  },
};

describe('manifests of types regcache cannot read', () => {
  const parts = useProxiedCache({ upstreams: [{ name: 'docker.io', url: '', tagTtl: '1h' }] });

  it.each(Object.keys(UNKNOWN_BODIES))('%s: cached and served verbatim with its Content-Type, nothing prefetched', async (label) => {
    const { upstream, proxy, cache } = parts();
    const { contentType, body } = UNKNOWN_BODIES[label] ?? { contentType: '', body: () => ({}) };
    const repo = `types-${label.toLowerCase().replace(/\W+/g, '-')}/app`;
    await pushTinyImage(upstream, repo, 'v1');
    const content = Buffer.from('not an image layer');
    const blob = { mediaType: 'application/octet-stream', size: content.length, digest: await pushBlob(upstream, repo, content) };
    const manifest = Buffer.from(JSON.stringify(body(blob)));
    const digest = sha256(manifest);
    const accept = `${contentType}, ${FULL}`;
    proxy.setFault({ kind: 'body', body: manifest, headers: { 'content-type': contentType } }, { match: manifestsOf(repo) });
    try {
      const first = await fetch(`${cache.url}/v2/${repo}/manifests/v1`, { headers: { accept } });
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toBe(contentType);
      expect(first.headers.get('docker-content-digest')).toBe(digest);
      expect(Buffer.from(await first.arrayBuffer()).equals(manifest)).toBe(true);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    await sleep(300);
    expect(proxy.seen().filter((line) => line.includes(`/v2/${repo}/blobs/`))).toEqual([]);
    // From the store now: the upstream has no such digest, and its tag names the tiny image.
    for (const reference of [digest, 'v1']) {
      const again = await fetch(`${cache.url}/v2/${repo}/manifests/${reference}`, { headers: { accept } });
      expect(again.status, reference).toBe(200);
      expect(again.headers.get('content-type')).toBe(contentType);
      expect(again.headers.get('x-regcache-cache'), reference).toBe('hit');
      expect(Buffer.from(await again.arrayBuffer()).equals(manifest)).toBe(true);
    }
    // What it references a client fetches like any other blob.
    const fetched = await fetch(`${cache.url}/v2/${repo}/blobs/${blob.digest}`);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(content)).toBe(true);
  });

  const SCHEMA1 = { schemaVersion: 1, name: 'x', tag: 'v1', architecture: 'amd64', fsLayers: [{ blobSum: sha256(Buffer.from('layer')) }], history: [{ v1Compatibility: '{}' }] };
  const SIGNATURES = [{ header: { jwk: { crv: 'P-256', kty: 'EC', x: 'x', y: 'y' }, alg: 'ES256' }, signature: 'c2ln', protected: 'cHJvdGVjdGVk' }];

  it.each([
    ['unsigned', 'application/vnd.docker.distribution.manifest.v1+json', SCHEMA1, undefined],
    ['signed', 'application/vnd.docker.distribution.manifest.v1+prettyjws', { ...SCHEMA1, signatures: SIGNATURES }, sha256(Buffer.from(JSON.stringify(SCHEMA1)))],
  ] as const)('a schema 1 manifest (%s): 400 MANIFEST_INVALID, not an outage, nothing kept', async (label, contentType, body, payloadDigest) => {
    const { upstream, proxy, cache } = parts();
    const repo = `schema1-${label}/app`;
    await pushTinyImage(upstream, repo, 'v1');
    // A signed manifest's Docker-Content-Digest is its payload's, without the signatures.
    const headers = { 'content-type': contentType, ...(payloadDigest === undefined ? {} : { 'docker-content-digest': payloadDigest }) };
    proxy.setFault({ kind: 'body', body: JSON.stringify(body), headers }, { match: manifestsOf(repo) });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const answer = await errorOf(await fetch(`${cache.url}/v2/${repo}/manifests/v1`));
        expect(answer).toMatchObject({ status: 400, code: 'MANIFEST_INVALID' });
        expect(answer.message).toContain('schema 1');
      }
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect(await cache.cache.store.getTag('docker.io', repo, 'v1')).toBeUndefined();
  });

  it('a manifest over 4 MiB: 400 MANIFEST_INVALID naming the limit', async () => {
    const { upstream, proxy, cache } = parts();
    const repo = 'types-huge/app';
    await pushTinyImage(upstream, repo, 'v1');
    const huge = Buffer.concat([Buffer.from('{"schemaVersion":2,"pad":"'), Buffer.alloc(4 * 1024 * 1024, 0x61), Buffer.from('"}')]);
    const answer = await errorUnder(proxy, { kind: 'body', body: huge }, { match: manifestsOf(repo) }, `${cache.url}/v2/${repo}/manifests/v1`);
    expect(answer).toMatchObject({ status: 400, code: 'MANIFEST_INVALID' });
    expect(answer.message).toContain('4 MiB');
  });
});
