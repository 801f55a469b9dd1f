/**
 * An upstream — or a CDN in front of it — that compresses manifests. regcache asks with
 * `Accept-Encoding: identity`; when the answer is gzip, deflate or br all the same, it is
 * decoded before its digest is checked (as Go's client, and so skopeo, decodes gzip), and
 * stored and served as the plain bytes. A coding regcache cannot read, or a body that does not
 * decode as labelled, is the upstream's bad content (503, never a 500); one that inflates past
 * the 4 MiB manifest cap is a manifest too large (400), decoding stopped at the cap.
 * Real parts: a docker-registry behind the testkit's fault proxy, which compresses the answer.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { errorUnder } from './fault-answers.js';
import { expectStored, useProxiedCache } from './helpers.js';
import { httpPull, pushTinyImage } from './images.js';

const MANIFESTS = /\/manifests\//;
const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('manifests in a content coding', () => {
  const parts = useProxiedCache({ upstreams: [{ name: 'docker.io', url: '', tagTtl: '1h' }] });

  it('asks for every manifest with Accept-Encoding: identity', async () => {
    const { upstream, proxy, cache } = parts();
    const image = await pushTinyImage(upstream, 'identity/app', 'v1');
    expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200, digest: image.digest });
    const asked = proxy.requests().filter((r) => r.url.startsWith('/v2/identity/app/manifests/'));
    expect(asked.length).toBeGreaterThan(0);
    for (const request of asked) expect(request.headers['accept-encoding'], `${request.method} ${request.url}`).toBe('identity');
  });

  it('asks for tag lists, and manifests passed through by HEAD, with Accept-Encoding: identity too', async () => {
    const { upstream, proxy, cache } = parts();
    const image = await pushTinyImage(upstream, 'identity/more', 'v1');
    expect((await fetch(`${cache.url}/v2/${image.name}/tags/list`)).status).toBe(200);
    // A client that takes no image type at all: the upstream picks for it, and the HEAD goes through.
    await fetch(`${cache.url}/v2/${image.name}/manifests/v1`, { method: 'HEAD', headers: { accept: 'application/vnd.example.none+json' } });
    const asked = proxy.requests().filter((r) => /^\/v2\/identity\/more\/(tags|manifests)\//.test(r.url));
    expect(asked.map((r) => `${r.method} ${r.url.replace(/\?.*/, '')}`)).toEqual(expect.arrayContaining(['GET /v2/identity/more/tags/list']));
    for (const request of asked) expect(request.headers['accept-encoding'], `${request.method} ${request.url}`).toBe('identity');
  });

  it.each(['gzip', 'deflate', 'br'])('%s from the upstream: decoded, verified, stored and served plain', async (encoding) => {
    const { upstream, proxy, cache } = parts();
    const image = await pushTinyImage(upstream, `enc-${encoding}/app`, 'v1');
    proxy.setFault({ kind: 'encode', encoding }, { match: MANIFESTS });
    try {
      expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200, digest: image.digest });
      const other = await pushTinyImage(upstream, `enc-${encoding}/bydigest`, 'v1');
      const byDigest = await fetch(`${cache.url}/v2/${other.name}/manifests/${other.digest}`);
      expect(byDigest.status).toBe(200);
      expect(sha256(Buffer.from(await byDigest.arrayBuffer()))).toBe(other.digest);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect(proxy.requests().filter((r) => r.fault === 'encode').length).toBeGreaterThanOrEqual(2);
    await expectStored(cache, image.digest);
    // Served from the store, as the plain bytes the digest names.
    const again = await fetch(`${cache.url}/v2/${image.name}/manifests/${image.digest}`);
    expect(again.headers.get('content-encoding')).toBeNull();
    expect(sha256(Buffer.from(await again.arrayBuffer()))).toBe(image.digest);
  });

  it('a coding regcache cannot decode: 503 naming it, not a 500', async () => {
    const { upstream, proxy, cache } = parts();
    const image = await pushTinyImage(upstream, 'enc-zstd/app', 'v1');
    const answer = await errorUnder(proxy, { kind: 'encode', encoding: 'zstd' }, { match: MANIFESTS }, `${cache.url}/v2/${image.name}/manifests/v1`);
    expect(answer).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    expect(answer.message).toContain('zstd');
    expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200, digest: image.digest });
  });

  it('a body labelled gzip that is not gzip: 503, the upstream sent bad content', async () => {
    const { upstream, proxy, cache } = parts();
    const image = await pushTinyImage(upstream, 'enc-liar/app', 'v1');
    const answer = await errorUnder(proxy, { kind: 'headers', headers: { 'content-encoding': 'gzip' } }, { match: MANIFESTS }, `${cache.url}/v2/${image.name}/manifests/v1`);
    expect(answer).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    expect(answer.message).toContain('gzip');
  });

  it('a gzip bomb: decoding stops at the 4 MiB cap, answered as a manifest too large (400)', async () => {
    const { upstream, proxy, cache } = parts();
    const image = await pushTinyImage(upstream, 'enc-bomb/app', 'v1');
    // 64 MiB of JSON whitespace: well under 100 KiB as gzip.
    const inflated = Buffer.concat([Buffer.from('{"schemaVersion":2,"pad":"'), Buffer.alloc(64 * 1024 * 1024, 0x20), Buffer.from('"}')]);
    const answer = await errorUnder(proxy, { kind: 'encode', encoding: 'gzip', body: inflated }, { match: MANIFESTS }, `${cache.url}/v2/${image.name}/manifests/v1`);
    expect(answer).toMatchObject({ status: 400, code: 'MANIFEST_INVALID' });
    expect(answer.message).toContain('4 MiB');
  }, 30_000);
});
