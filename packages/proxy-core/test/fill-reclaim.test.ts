/**
 * The embedder's reclaim hook (RegistryCacheOptions.reclaimMemory; apps/server runs a young-
 * generation GC there) is called once per RECLAIM_BYTES that fills write, counted across fills.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashedGet, pushBlob, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { RECLAIM_BYTES } from '../src/fill/engine.js';
import { expectStored, startCache, type RunningCache } from './helpers.js';
import { randomBlob } from './fill-helpers.js';

describe('reclaimMemory', () => {
  let upstream: RunningRegistry;
  let cache: RunningCache;
  let calls = 0;
  beforeAll(async () => {
    upstream = await startRegistry();
    cache = await startCache({ upstreamUrl: upstream.url }, { reclaimMemory: () => void calls++ });
  }, 60_000);
  afterAll(async () => {
    await cache?.close();
    await upstream?.stop();
  });

  it('is called once per RECLAIM_BYTES filled, across fills', async () => {
    // The sink hands the writer batches of about 1 MiB, so the count is exact: floor(total / RECLAIM_BYTES).
    const blobs = [randomBlob(RECLAIM_BYTES * 2 + 100_000), randomBlob(RECLAIM_BYTES + RECLAIM_BYTES / 2)];
    for (const blob of blobs) await pushBlob(upstream, 'reclaim/app', blob.bytes);
    for (const blob of blobs) {
      const got = await hashedGet(`${cache.url}/v2/reclaim/app/blobs/${blob.digest}`);
      expect(got).toMatchObject({ status: 200, digest: blob.digest });
      await expectStored(cache, blob.digest);
    }
    const total = blobs.reduce((sum, blob) => sum + blob.bytes.length, 0);
    expect(calls).toBe(Math.floor(total / RECLAIM_BYTES));
  });
});
