/**
 * The embedder's reclaim hook (RegistryCacheOptions.reclaimMemory; apps/server runs a young-
 * generation GC there) is called at the RECLAIM_BYTES boundaries that fills cross when those
 * bytes came fast (within RECLAIM_FAST_MS) in buffers of their own (undici's per-read chunks),
 * not for a slow fill, and not for a body lent from a pool (a plain-http upstream's blob).
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlobStore, type BlobStore } from '@regcache/blob-store';
import type { Digest } from '@regcache/registry-protocol';
import { hashedGet, pushBlob, startRegistry, tempDir, type RunningRegistry } from '@regcache/testkit';
import { createFillEngine, RECLAIM_BYTES } from '../src/fill/engine.js';
import { silentLogger } from '../src/index.js';
import { expectStored, startCache, type RunningCache } from './helpers.js';
import { randomBlob } from './fill-helpers.js';

const CHUNK = 64 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The blob as undici hands a body over: a fresh 64 KiB buffer per read, `pauseMs` apart. */
function ownBuffers(bytes: Buffer, pauseMs: number): Readable {
  return Readable.from(
    (async function* chunks() {
      for (let at = 0; at < bytes.length; at += CHUNK) {
        if (pauseMs > 0) await sleep(pauseMs);
        yield Buffer.from(bytes.subarray(at, at + CHUNK));
      }
    })(),
    { objectMode: false },
  );
}

describe('reclaimMemory in the fill engine', () => {
  let store: BlobStore;
  let calls = 0;
  beforeAll(async () => {
    store = await createBlobStore({ root: await tempDir('reclaim') });
  });
  afterAll(() => store?.close());

  const fillFrom = async (blob: { bytes: Buffer; digest: string }, pauseMs: number): Promise<void> => {
    const engine = createFillEngine({ store, logger: silentLogger, continueWhenClientsGone: true, detachedMaxSize: 1 << 30, idleTimeoutMs: 10_000, reclaim: () => void calls++ });
    const body = Object.assign(ownBuffers(blob.bytes, pauseMs), { dump: async () => undefined });
    const { fill } = engine.start(blob.digest as Digest, async () => ({ body, size: blob.bytes.length, mediaType: 'application/octet-stream', upstream: 'test' }));
    await expect((await fill).done).resolves.toMatchObject({ size: blob.bytes.length });
  };

  it('is called at the boundaries a fast fill crosses (not at the first: nothing to time it against)', async () => {
    calls = 0;
    await fillFrom(randomBlob(RECLAIM_BYTES * 3 + 100_000), 0);
    expect(calls).toBe(2);
  });

  it('is not called for a slow fill (4 MiB in more than RECLAIM_FAST_MS)', async () => {
    calls = 0;
    // 64 chunks per 4 MiB, 5 ms apart: ≈ 320 ms per boundary.
    await fillFrom(randomBlob(RECLAIM_BYTES * 2 + 100_000), 5);
    expect(calls).toBe(0);
  }, 30_000);
});

describe('reclaimMemory for a plain-http upstream', () => {
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

  it('is not called: the body is read into a reused pool, nothing is left to collect', async () => {
    const blob = randomBlob(RECLAIM_BYTES * 3 + 100_000);
    await pushBlob(upstream, 'reclaim/app', blob.bytes);
    const got = await hashedGet(`${cache.url}/v2/reclaim/app/blobs/${blob.digest}`);
    expect(got).toMatchObject({ status: 200, digest: blob.digest });
    await expectStored(cache, blob.digest);
    expect(calls).toBe(0);
  });
});
