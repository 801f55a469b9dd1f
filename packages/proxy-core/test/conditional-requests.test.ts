/**
 * If-None-Match: regcache sends every blob and manifest with `ETag: "<digest>"`, so a client
 * (or a cache in front of regcache) that revalidates what it holds gets a 304 and no body — as
 * distribution answers — from a stored copy, from a hot manifest answer, and from a fill in
 * progress, which goes on and stores the blob. A 304 is only ever sent for a representation
 * known to exist: `*` for a blob the upstream does not have is still a 404.
 */
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ACCEPT_ALL_MANIFESTS, pushBlob } from '@regcache/testkit';
import { expectStored, useProxiedCache } from './helpers.js';
import { getBlob, randomBlob } from './fill-helpers.js';
import { pushTinyImage } from './images.js';

interface Answer {
  status: number;
  body: Buffer;
  etag: unknown;
  digest: unknown;
  cache: unknown;
}

async function ask(url: string, headers: Record<string, string>, method: 'GET' | 'HEAD' = 'GET'): Promise<Answer> {
  const res = await request(url, { method, headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, body, etag: res.headers.etag, digest: res.headers['docker-content-digest'], cache: res.headers['x-regcache-cache'] };
}

describe('conditional requests (If-None-Match)', () => {
  // A short TTL, so the last case can see its tag move (each case's requests take milliseconds).
  const fx = useProxiedCache({ upstreams: [{ name: 'docker.io', url: '', tagTtl: '2s' }] });

  it('answers 304 for a blob being filled, and the fill still stores it', async () => {
    const { upstream, cache } = fx();
    const blob = randomBlob(2 * 1024 * 1024);
    await pushBlob(upstream, 'cond/fill', blob.bytes);
    const url = `${cache.url}/v2/cond/fill/blobs/${blob.digest}`;
    const first = await ask(url, { 'if-none-match': `"${blob.digest}"` });
    expect(first).toMatchObject({ status: 304, etag: `"${blob.digest}"`, digest: blob.digest, cache: 'miss' });
    expect(first.body.length).toBe(0);
    await expectStored(cache, blob.digest);
    expect(await getBlob(url)).toMatchObject({ status: 200, digest: blob.digest, cache: 'hit' });
    await upstream.settle();
    expect(upstream.countRequests('GET', `/v2/cond/fill/blobs/${blob.digest}`)).toBe(1);
  });

  it('answers 304 for a stored blob, before any Range, and 200 or 206 when the tag differs', async () => {
    const { upstream, cache } = fx();
    const blob = randomBlob(64 * 1024);
    await pushBlob(upstream, 'cond/stored', blob.bytes);
    const url = `${cache.url}/v2/cond/stored/blobs/${blob.digest}`;
    await getBlob(url);
    await expectStored(cache, blob.digest);
    for (const value of [`"${blob.digest}"`, `W/"${blob.digest}"`, `"sha256:${'0'.repeat(64)}", "${blob.digest}"`, '*']) {
      for (const method of ['GET', 'HEAD'] as const) {
        const answer = await ask(url, { 'if-none-match': value, range: 'bytes=0-9' }, method);
        expect(answer, `${method} ${value}`).toMatchObject({ status: 304, etag: `"${blob.digest}"`, cache: 'hit' });
        expect(answer.body.length).toBe(0);
      }
    }
    const other = await ask(url, { 'if-none-match': `"sha256:${'0'.repeat(64)}"` });
    expect(other.status).toBe(200);
    expect(other.body).toEqual(blob.bytes);
    const ranged = await ask(url, { 'if-none-match': `"sha256:${'0'.repeat(64)}"`, range: 'bytes=0-9' });
    expect(ranged.status).toBe(206);
    expect(ranged.body).toEqual(blob.bytes.subarray(0, 10));
    await upstream.settle();
    expect(upstream.countRequests('GET', `/v2/cond/stored/blobs/${blob.digest}`)).toBe(1);
  });

  it('answers a HEAD of an uncached blob 304 only once the upstream confirms it exists', async () => {
    const { upstream, cache } = fx();
    const blob = randomBlob(1024);
    await pushBlob(upstream, 'cond/head', blob.bytes);
    expect(await ask(`${cache.url}/v2/cond/head/blobs/${blob.digest}`, { 'if-none-match': `"${blob.digest}"` }, 'HEAD')).toMatchObject({ status: 304, cache: 'pass' });
    const absent = `sha256:${'1'.repeat(64)}`;
    for (const method of ['GET', 'HEAD'] as const) {
      expect((await ask(`${cache.url}/v2/cond/head/blobs/${absent}`, { 'if-none-match': '*' }, method)).status, method).toBe(404);
      expect((await ask(`${cache.url}/v2/cond/head/blobs/${absent}`, { 'if-none-match': `"${absent}"` }, method)).status, method).toBe(404);
    }
  });

  it('answers 304 for manifests by tag and by digest, also once the answer is hot, and 200 when the tag moved', async () => {
    const { upstream, cache } = fx();
    const image = await pushTinyImage(upstream, 'cond/image', 'v1');
    const byTag = `${cache.url}/v2/cond/image/manifests/v1`;
    const accept = ACCEPT_ALL_MANIFESTS;
    // Cold (a miss), then hot: the plain request is replayed from the hot table from here on.
    expect(await ask(byTag, { accept, 'if-none-match': `"${image.digest}"` })).toMatchObject({ status: 304, digest: image.digest, cache: 'miss' });
    for (let i = 0; i < 2; i++) expect(await ask(byTag, { accept })).toMatchObject({ status: 200, digest: image.digest, cache: 'hit' });
    for (const method of ['GET', 'HEAD'] as const) {
      const answer = await ask(byTag, { accept, 'if-none-match': `"${image.digest}"` }, method);
      expect(answer, method).toMatchObject({ status: 304, etag: `"${image.digest}"`, digest: image.digest, cache: 'hit' });
      expect(answer.body.length).toBe(0);
    }
    // distribution accepts the digest unquoted for manifests; so does regcache.
    const byDigest = `${cache.url}/v2/cond/image/manifests/${image.digest}`;
    expect(await ask(byDigest, { accept, 'if-none-match': image.digest })).toMatchObject({ status: 304, cache: 'hit' });
    expect((await ask(byDigest, { accept, 'if-none-match': `"sha256:${'0'.repeat(64)}"` })).status).toBe(200);

    // The tag moves upstream; once its TTL lets regcache see that, the old digest no longer matches.
    const moved = await pushTinyImage(upstream, 'cond/image', 'v1');
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const after = await ask(byTag, { accept, 'if-none-match': `"${image.digest}"` });
    expect(after).toMatchObject({ status: 200, digest: moved.digest });
  });
});
