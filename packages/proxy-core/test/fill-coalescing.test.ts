/**
 * The fill engine against a real registry: 20 concurrent misses for one 64 MiB blob make
 * exactly one upstream GET and all get the right bytes; the first byte reaches clients
 * while the fill is still running; a fill whose clients all leave still completes, so the
 * next pull is a hit.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushBlob } from '@regcache/testkit';
import { useProxiedCache } from './helpers.js';
import { getBlob, randomBlob } from './fill-helpers.js';

const MiB = 1024 * 1024;

describe('one upstream fetch per blob, streamed while filling', () => {
  const fx = useProxiedCache();

  it('20 concurrent clients of an uncached 64 MiB blob: one upstream GET, every client byte-exact', async () => {
    const { upstream, cache } = fx();
    const blob = randomBlob(64 * MiB);
    await pushBlob(upstream, 'fill/big', blob.bytes);
    const url = `${cache.url}/v2/fill/big/blobs/${blob.digest}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => getBlob(url)));
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.broken).toBe(false);
      expect(r.bytes).toBe(64 * MiB);
      expect(r.digest).toBe(blob.digest);
    }
    expect(results.filter((r) => r.cache === 'miss').length).toBe(1);
    expect(results.filter((r) => r.cache === 'coalesced' || r.cache === 'hit').length).toBe(19);
    await upstream.settle();
    expect(upstream.countRequests('GET', `/v2/fill/big/blobs/${blob.digest}`)).toBe(1);
  }, 120_000);

  it('sends the first byte while the fill is still running', async () => {
    const { upstream, proxy, cache } = fx();
    const blob = randomBlob(2 * MiB);
    await pushBlob(upstream, 'fill/slow', blob.bytes);
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 1 * MiB });
    try {
      const r = await getBlob(`${cache.url}/v2/fill/slow/blobs/${blob.digest}`);
      expect(r.digest).toBe(blob.digest);
      expect(r.firstByteMs).toBeDefined();
      // 2 MiB at 1 MiB/s takes about 2 s; the first byte must come long before the end.
      expect(r.endMs - (r.firstByteMs ?? 0)).toBeGreaterThan(1000);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
  }, 60_000);

  it('finishes a fill whose only client left, so the next pull is a hit', async () => {
    const { upstream, proxy, cache } = fx();
    const blob = randomBlob(8 * MiB);
    await pushBlob(upstream, 'fill/left', blob.bytes);
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 8 * MiB });
    try {
      const partial = await getBlob(`${cache.url}/v2/fill/left/blobs/${blob.digest}`, {}, { stopAfter: 64 * 1024 });
      expect(partial.bytes).toBeLessThan(8 * MiB);
      await expect.poll(() => cache.cache.store.stat(blob.digest as never), { timeout: 20_000 }).toBeDefined();
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    const again = await getBlob(`${cache.url}/v2/fill/left/blobs/${blob.digest}`);
    expect(again.digest).toBe(blob.digest);
    await upstream.settle();
    expect(upstream.countRequests('GET', `/v2/fill/left/blobs/${blob.digest}`)).toBe(1);
    expect(await readdir(join(cache.dataDir, 'tmp'))).toEqual([]);
  }, 60_000);
});
