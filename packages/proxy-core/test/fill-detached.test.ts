/**
 * A fill whose clients all leave is bounded: past `fill.detachedMaxSize` it stops cleanly —
 * nothing stored, no temp file, the upstream connection closed — and the next pull starts over.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushBlob } from '@regcache/testkit';
import type { Digest } from '@regcache/registry-protocol';
import { useProxiedCache } from './helpers.js';
import { getBlob, randomBlob } from './fill-helpers.js';

const MiB = 1024 * 1024;

describe('a detached fill over the size limit', () => {
  const fx = useProxiedCache({ fill: { detachedMaxSize: '1MiB' } });

  it('stops when its last client leaves, keeps nothing, and the next pull fills again', async () => {
    const { upstream, proxy, cache } = fx();
    const blob = randomBlob(8 * MiB);
    await pushBlob(upstream, 'detached/big', blob.bytes);
    const url = `${cache.url}/v2/detached/big/blobs/${blob.digest}`;
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 4 * MiB });
    try {
      const partial = await getBlob(url, {}, { stopAfter: 64 * 1024 });
      expect(partial.bytes).toBeLessThan(8 * MiB);
      await expect.poll(() => readdir(join(cache.dataDir, 'tmp')), { timeout: 5000 }).toEqual([]);
      expect(await cache.cache.store.stat(blob.digest as Digest)).toBeUndefined();
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    const again = await getBlob(url);
    expect(again.digest).toBe(blob.digest);
    await upstream.settle();
    expect(upstream.countRequests('GET', `/v2/detached/big/blobs/${blob.digest}`)).toBe(2);
  }, 30_000);
});
