/**
 * The embedder's reclaim hook (RegistryCacheOptions.reclaimMemory; apps/server runs a young-
 * generation GC there) is called at the RECLAIM_BYTES boundaries that fills cross when those
 * bytes came fast (within RECLAIM_FAST_MS), and not for a slow fill.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashedGet, pushBlob, startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry } from '@regcache/testkit';
import { RECLAIM_BYTES } from '../src/fill/engine.js';
import { expectStored, startCache, type RunningCache } from './helpers.js';
import { randomBlob } from './fill-helpers.js';

describe('reclaimMemory', () => {
  let upstream: RunningRegistry;
  let proxy: FaultProxy;
  let cache: RunningCache;
  let calls = 0;
  beforeAll(async () => {
    upstream = await startRegistry();
    proxy = await startFaultProxy(upstream.url);
    cache = await startCache({ upstreamUrl: proxy.url }, { reclaimMemory: () => void calls++ });
  }, 60_000);
  afterAll(async () => {
    await cache?.close();
    await proxy?.stop();
    await upstream?.stop();
  });

  const fill = async (blob: { bytes: Buffer; digest: string }): Promise<void> => {
    const got = await hashedGet(`${cache.url}/v2/reclaim/app/blobs/${blob.digest}`);
    expect(got).toMatchObject({ status: 200, digest: blob.digest });
    await expectStored(cache, blob.digest);
  };

  it('is called at the boundaries a fast fill crosses (not at the first: nothing to time it against)', async () => {
    const blob = randomBlob(RECLAIM_BYTES * 3 + 100_000);
    await pushBlob(upstream, 'reclaim/app', blob.bytes);
    await fill(blob);
    // A loopback fill writes 4 MiB in well under RECLAIM_FAST_MS; the first boundary has no time before it.
    expect(calls).toBe(2);
  });

  it('is not called for a slow fill (4 MiB in more than RECLAIM_FAST_MS)', async () => {
    const slow = randomBlob(RECLAIM_BYTES * 2 + 100_000);
    await pushBlob(upstream, 'reclaim/app', slow.bytes);
    const before = calls;
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 8 * 1024 * 1024 });
    try {
      await fill(slow);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect(calls).toBe(before);
  }, 30_000);
});
