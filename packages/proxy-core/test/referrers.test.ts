/**
 * The referrers API through regcache (OCI 1.1: signatures, SBOMs, attestations of an image).
 *
 * Debian's registry (distribution 2.8) has no referrers API, as many upstreams still do not:
 * regcache answers 404 MANIFEST_UNKNOWN — never 405 or 503, on which crane and oras give up —
 * and the client reads the referrers tag schema (`sha256-<hex>`), which regcache serves as any
 * tag. An upstream that has the API is played by the fault proxy in front of the same registry,
 * answering the referrers path with an image index: regcache passes it through with the
 * client's `artifactType` filter, keeps it for the tag TTL and serves it stale while the
 * upstream is down, and falls back to the 404 when the answer is no index or the upstream fails
 * with nothing kept; an upstream's NAME_UNKNOWN stays NAME_UNKNOWN.
 */
import { describe, expect, it } from 'vitest';
import { MediaTypes, pushBlob, pushManifest, pushSmallImage, sha256, type RunningRegistry, type SmallImage } from '@regcache/testkit';
import { useProxiedCache } from './helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';

const SIG = 'application/vnd.example.signature.v1';

/** A signature artifact whose subject is `image`, and the referrers index listing it (pushed under the tag schema). */
async function pushSignature(registry: RunningRegistry, image: SmallImage): Promise<{ artifact: string; index: Buffer; schemaTag: string }> {
  const empty = Buffer.from('{}');
  const payload = Buffer.from(`signature of ${image.digest}`);
  await pushBlob(registry, image.name, empty);
  await pushBlob(registry, image.name, payload);
  const subjectBytes = (await fetch(`${registry.url}/v2/${image.name}/manifests/${image.digest}`, { headers: { accept: MediaTypes.ociManifest } }).then((r) => r.arrayBuffer())).byteLength;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: SIG,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: empty.length },
      layers: [{ mediaType: 'application/octet-stream', digest: sha256(payload), size: payload.length }],
      subject: { mediaType: MediaTypes.ociManifest, digest: image.digest, size: subjectBytes },
    }),
  );
  const artifact = await pushManifest(registry, image.name, sha256(manifest), manifest, MediaTypes.ociManifest);
  const index = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ mediaType: MediaTypes.ociManifest, digest: artifact, size: manifest.length, artifactType: SIG }] }),
  );
  const schemaTag = image.digest.replace(':', '-');
  await pushManifest(registry, image.name, schemaTag, index, MediaTypes.ociIndex);
  return { artifact, index, schemaTag };
}

interface Answer {
  status: number;
  code: string | undefined;
  body: Buffer;
  headers: Headers;
}

async function get(url: string, method = 'GET'): Promise<Answer> {
  const res = await fetch(url, { method, headers: { accept: MediaTypes.ociIndex } });
  const body = Buffer.from(await res.arrayBuffer());
  const code = res.status >= 400 && body.length > 0 ? (JSON.parse(body.toString('utf8')) as { errors: Array<{ code: string }> }).errors[0]?.code : undefined;
  return { status: res.status, code, body, headers: res.headers };
}

describe('the referrers API through regcache', () => {
  const fx = useProxiedCache();

  it('answers 404 MANIFEST_UNKNOWN when the upstream has no referrers API, and serves the tag schema instead', async () => {
    const { upstream, cache } = fx();
    const image = await pushSmallImage(upstream, 'ref/plain', 'v1');
    const signature = await pushSignature(upstream, image);
    for (const method of ['GET', 'HEAD']) {
      const answer = await get(`${cache.url}/v2/ref/plain/referrers/${image.digest}`, method);
      expect(answer.status, method).toBe(404);
      if (method === 'GET') expect(answer.code).toBe('MANIFEST_UNKNOWN');
    }
    const fallback = await get(`${cache.url}/v2/ref/plain/manifests/${signature.schemaTag}`);
    expect(fallback.status).toBe(200);
    expect(fallback.body).toEqual(signature.index);
  });

  it("passes an upstream's referrers index through, with the artifactType filter", async () => {
    const { upstream, proxy, cache } = fx();
    const image = await pushSmallImage(upstream, 'ref/api', 'v1');
    const { index } = await pushSignature(upstream, image);
    const match = /\/referrers\//;
    proxy.setFault({ kind: 'status', status: 200, headers: { 'content-type': MediaTypes.ociIndex, 'oci-filters-applied': 'artifactType' }, body: index.toString('utf8') }, { match });
    try {
      const filtered = await get(`${cache.url}/v2/ref/api/referrers/${image.digest}?artifactType=${encodeURIComponent(SIG)}`);
      expect(filtered.status).toBe(200);
      expect(filtered.body).toEqual(index);
      expect(filtered.headers.get('content-type')).toBe(MediaTypes.ociIndex);
      expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
      expect(proxy.seen()).toContain(`GET /v2/ref/api/referrers/${image.digest}?artifactType=${encodeURIComponent(SIG)}`);
      const unfiltered = await get(`${cache.url}/v2/ref/api/referrers/${image.digest}`);
      expect(unfiltered.status).toBe(200);
      expect(unfiltered.headers.get('oci-filters-applied')).toBeNull();
    } finally {
      proxy.setFault({ kind: 'none' });
    }
  });

  it('falls back to the 404 when the answer is no index or the upstream fails; NAME_UNKNOWN stays', async () => {
    const { upstream, proxy, cache } = fx();
    const image = await pushSmallImage(upstream, 'ref/odd', 'v1');
    const url = `${cache.url}/v2/ref/odd/referrers/${image.digest}`;
    const match = /\/referrers\//;
    const cases: Array<[Parameters<typeof proxy.setFault>[0], number, string]> = [
      [{ kind: 'status', status: 200, headers: { 'content-type': 'application/json' }, body: '{"not":"an index"}' }, 404, 'MANIFEST_UNKNOWN'],
      [{ kind: 'status', status: 503, body: 'down' }, 404, 'MANIFEST_UNKNOWN'],
      [{ kind: 'status', status: 404, headers: { 'content-type': 'application/json' }, body: '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}' }, 404, 'NAME_UNKNOWN'],
    ];
    try {
      for (const [fault, status, code] of cases) {
        proxy.setFault(fault, { match });
        const answer = await get(url);
        expect([answer.status, answer.code], JSON.stringify(fault)).toEqual([status, code]);
      }
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    const failed = cache.logs.find((l) => l.msg === 'request' && l.path === `/v2/ref/odd/referrers/${image.digest}` && typeof l.error === 'string' && /503/.test(l.error));
    expect(failed, JSON.stringify(cache.logs.slice(-4))).toBeDefined();
  });

  it('reads a 501 as no referrers API, as a 404: answered 404, not counted or logged as the upstream failing', async () => {
    const { upstream, proxy, cache } = fx();
    const image = await pushSmallImage(upstream, 'ref/none', 'v1');
    const path = `/v2/ref/none/referrers/${image.digest}`;
    const errors = async (): Promise<[number, number]> => [cache.cache.stats.snapshot().upstreamErrors ?? 0, valueOf(parsePrometheusText(await cache.cache.metrics.render()), 'regcache_upstream_errors_total', {})];
    const before = await errors();
    proxy.setFault({ kind: 'status', status: 501, body: 'not implemented' }, { match: /\/referrers\// });
    try {
      const answer = await get(`${cache.url}${path}`);
      expect([answer.status, answer.code]).toEqual([404, 'MANIFEST_UNKNOWN']);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    const line = cache.logs.find((l) => l.msg === 'request' && l.path === path);
    expect(line, JSON.stringify(cache.logs.slice(-4))).toBeDefined();
    expect(line?.error).toBeUndefined();
    expect(await errors()).toEqual(before);
  });
});

describe('a referrers list kept for the tag TTL', () => {
  const fx = useProxiedCache({ upstreams: [{ name: 'docker.io', url: '', tagTtl: '400ms' }] });

  it('is answered from memory within the TTL, stale while the upstream is down, and dropped once it has no list', async () => {
    const { upstream, proxy, cache } = fx();
    const image = await pushSmallImage(upstream, 'ref/kept', 'v1');
    const { index } = await pushSignature(upstream, image);
    const url = `${cache.url}/v2/ref/kept/referrers/${image.digest}`;
    const asked = (): number => proxy.seen().filter((line) => line.includes('/referrers/')).length;
    const match = /\/referrers\//;
    try {
      proxy.setFault({ kind: 'status', status: 200, headers: { 'content-type': MediaTypes.ociIndex }, body: index.toString('utf8') }, { match });
      const first = await get(url);
      const again = await get(url);
      expect([first.status, first.headers.get('x-regcache-cache'), again.status, again.headers.get('x-regcache-cache')]).toEqual([200, 'miss', 200, 'hit']);
      expect(again.body).toEqual(index);
      expect(asked()).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
      proxy.setFault({ kind: 'status', status: 503, body: 'down' }, { match });
      const stale = await get(url);
      expect([stale.status, stale.headers.get('x-regcache-stale'), stale.headers.get('x-regcache-cache')]).toEqual([200, 'true', 'stale']);
      expect(stale.body).toEqual(index);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    // The real registry has no referrers API: its 404 drops what was kept, even within a stale window.
    const gone = await get(url);
    expect([gone.status, gone.code]).toEqual([404, 'MANIFEST_UNKNOWN']);
    proxy.setFault({ kind: 'status', status: 503, body: 'down' }, { match });
    try {
      expect((await get(url)).status).toBe(404);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
  });
});
