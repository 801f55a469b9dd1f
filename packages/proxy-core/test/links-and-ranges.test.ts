/**
 * Per-repository links: a blob cached through one repository is served to another only after
 * the upstream confirms (HEAD) that the other may have it; a refusal reaches the client.
 * Range requests: 206/Content-Range/416 on cached blobs, and ranges of a blob still being
 * filled are served as soon as those bytes have arrived.
 */
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { pushBlob } from '@regcache/testkit';
import { expectStored, useProxiedCache } from './helpers.js';
import { getBlob, randomBlob } from './fill-helpers.js';

const MiB = 1024 * 1024;

describe('links and ranges', () => {
  const fx = useProxiedCache();

  it('serves a cached blob to another repository only once the upstream confirms it', async () => {
    const { upstream, cache } = fx();
    const blob = randomBlob(256 * 1024);
    await pushBlob(upstream, 'team/private', blob.bytes);
    expect((await getBlob(`${cache.url}/v2/team/private/blobs/${blob.digest}`)).digest).toBe(blob.digest);
    // The pull ends when the bytes verify; the commit follows. Later requests must find it stored.
    await expectStored(cache, blob.digest);

    const refused = await request(`${cache.url}/v2/stranger/repo/blobs/${blob.digest}`);
    expect(refused.statusCode).toBe(404);
    expect(((await refused.body.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe('BLOB_UNKNOWN');
    await upstream.settle();
    expect(upstream.countRequests('HEAD', `/v2/stranger/repo/blobs/${blob.digest}`)).toBe(1);
    expect(upstream.countRequests('GET', `/v2/stranger/repo/blobs/${blob.digest}`)).toBe(0);

    // Now the upstream has it in that repository too: confirmed by HEAD, served from the cache.
    await pushBlob(upstream, 'stranger/repo', blob.bytes);
    const allowed = await getBlob(`${cache.url}/v2/stranger/repo/blobs/${blob.digest}`);
    expect(allowed.digest).toBe(blob.digest);
    expect(allowed.cache).toBe('hit');
    await upstream.settle();
    expect(upstream.countRequests('GET', `/v2/stranger/repo/blobs/${blob.digest}`)).toBe(0);
    // Linked now: no further confirmation.
    await getBlob(`${cache.url}/v2/stranger/repo/blobs/${blob.digest}`);
    await upstream.settle();
    expect(upstream.countRequests('HEAD', `/v2/stranger/repo/blobs/${blob.digest}`)).toBe(2);
  });

  it('answers ranges of a cached blob with 206, and 416 when out of range', async () => {
    const { upstream, cache } = fx();
    const blob = randomBlob(100_000);
    await pushBlob(upstream, 'ranges/cached', blob.bytes);
    const url = `${cache.url}/v2/ranges/cached/blobs/${blob.digest}`;
    await getBlob(url);
    const middle = await request(url, { headers: { range: 'bytes=10-19' } });
    expect(middle.statusCode).toBe(206);
    expect(middle.headers['content-range']).toBe('bytes 10-19/100000');
    expect(Buffer.from(await middle.body.arrayBuffer())).toEqual(blob.bytes.subarray(10, 20));
    const suffix = await request(url, { headers: { range: 'bytes=-5' } });
    expect(Buffer.from(await suffix.body.arrayBuffer())).toEqual(blob.bytes.subarray(99_995));
    const beyond = await request(url, { headers: { range: 'bytes=100000-' } });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.headers['content-range']).toBe('bytes */100000');
    expect(((await beyond.body.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe('RANGE_INVALID');
  });

  it('applies a Range under If-Range only for the blob\'s own strong ETag; else the whole blob, 200', async () => {
    const { upstream, cache } = fx();
    const blob = randomBlob(50_000);
    await pushBlob(upstream, 'ranges/ifrange', blob.bytes);
    const url = `${cache.url}/v2/ranges/ifrange/blobs/${blob.digest}`;
    await getBlob(url);
    const ask = async (ifRange: string): Promise<[number, number]> => {
      const res = await request(url, { headers: { range: 'bytes=0-9', 'if-range': ifRange } });
      return [res.statusCode, (await res.body.arrayBuffer()).byteLength];
    };
    expect(await ask(`"${blob.digest}"`)).toEqual([206, 10]);
    for (const other of [`"sha256:${'0'.repeat(64)}"`, `W/"${blob.digest}"`, 'Sat, 28 Nov 2026 10:00:00 GMT']) {
      expect(await ask(other)).toEqual([200, 50_000]);
    }
  });

  it('answers a HEAD with a Range as its GET would be answered, cold (passed through) and warm', async () => {
    const { upstream, cache } = fx();
    const blob = randomBlob(30_000);
    await pushBlob(upstream, 'ranges/head', blob.bytes);
    const url = `${cache.url}/v2/ranges/head/blobs/${blob.digest}`;
    const head = async (range: string): Promise<[number, string | undefined, string | undefined, string | undefined]> => {
      const res = await request(url, { method: 'HEAD', headers: { range } });
      await res.body.dump();
      const header = (name: string): string | undefined => res.headers[name] as string | undefined;
      return [res.statusCode, header('content-length'), header('content-range'), header('x-regcache-cache')];
    };
    expect(await head('bytes=10-19')).toEqual([206, '10', 'bytes 10-19/30000', 'pass']);
    expect((await head('bytes=30000-'))[0]).toBe(416);
    await getBlob(url);
    await expectStored(cache, blob.digest);
    expect(await head('bytes=10-19')).toEqual([206, '10', 'bytes 10-19/30000', 'hit']);
  });

  it('serves a range of a blob being filled as soon as it has arrived', async () => {
    const { upstream, proxy, cache } = fx();
    const blob = randomBlob(4 * MiB);
    await pushBlob(upstream, 'ranges/filling', blob.bytes);
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 2 * MiB });
    try {
      const url = `${cache.url}/v2/ranges/filling/blobs/${blob.digest}`;
      const whole = getBlob(url);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      const head = await request(url, { headers: { range: 'bytes=0-1023' } });
      const bytes = Buffer.from(await head.body.arrayBuffer());
      const rangeMs = Date.now() - started;
      expect(head.statusCode).toBe(206);
      expect(head.headers['x-regcache-cache']).toBe('coalesced');
      expect(bytes).toEqual(blob.bytes.subarray(0, 1024));
      const full = await whole;
      expect(full.digest).toBe(blob.digest);
      expect(rangeMs).toBeLessThan(full.endMs - 500);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
  }, 30_000);
});
