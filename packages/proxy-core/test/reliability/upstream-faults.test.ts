/**
 * Faults from the upstream, through a fault-injecting proxy in front of a real token-auth
 * docker-registry: resets, truncation with a correct Content-Length, flipped bytes, stalls and
 * silence past the timeouts, a 1 KiB/s trickle, 503 and 429 bursts, wrong Docker-Content-Digest,
 * invalid manifest JSON, a redirect loop and a redirect to another host. For each: the client
 * gets an error or the right body, never a complete-looking wrong one; nothing wrong is
 * committed; other clients keep being served; the counters and logs say what happened; and
 * the next pull from a healthy upstream gets the right bytes.
 *
 * Scale: REGCACHE_FAULT_ROUNDS rounds per case (1 by default, 4 in the long suite, with blob
 * sizes from 64 KiB to 8 MiB).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { reportFigures, scaled, startBlobHost, startFaultProxy, startRegistry, type BlobHost, type FaultProxy, type RunningRegistry } from '@regcache/testkit';
import type { Digest } from '@regcache/registry-protocol';
import { startCache, type RunningCache } from '../helpers.js';
import { httpPull, pushTinyImage, type TinyImage } from '../images.js';
import { runRound, type RoundContext } from './case-runner.js';
import { faultCases } from './fault-cases.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const ROUNDS = scaled('FAULT_ROUNDS', 1, 4);
const BLOB_SIZES = [1 * MiB, 64 * KiB, 3 * MiB + 17, 8 * MiB];
const UPSTREAM = 'registry.test';

describe('faults from the upstream', () => {
  let upstream: RunningRegistry;
  let proxy: FaultProxy;
  let blobHost: BlobHost;
  let cache: RunningCache;
  let control: TinyImage;
  let passed = 0;

  beforeAll(async () => {
    upstream = await startRegistry({ auth: 'token' });
    proxy = await startFaultProxy(upstream.url);
    blobHost = await startBlobHost(upstream);
    const { username, password } = upstream.credentials ?? { username: '', password: '' };
    cache = await startCache({
      upstreams: [{ name: UPSTREAM, url: proxy.url, username, password, timeouts: { headers: '1s', body: '1s' } }],
      // No prefetch: each case is about the client's own requests under a fault, and checks
      // what is stored between cases; prefetch would send requests of its own through the same
      // faults and commit blobs in the next case's window (prefetch.test.ts covers prefetch).
      fill: { idleTimeout: '1s', prefetch: 0 },
    });
    control = await pushTinyImage(upstream, 'faults/control', 'v1');
    expect((await httpPull(cache.url, control.name, control.digest)).digest).toBe(control.digest);
    // Committed before the first case lists what is stored: a client has its last byte before
    // the commit, and a late one would count as a blob the first case stored (seen once in CI).
    for (const digest of [control.digest, ...control.blobs]) {
      await vi.waitFor(async () => expect(await cache.cache.store.stat(digest as Digest)).toBeDefined(), { timeout: 10_000 });
    }
  }, 60_000);

  afterAll(async () => {
    reportFigures('upstream-faults', { cases: faultCases().length, rounds: ROUNDS, passed, of: faultCases().length * ROUNDS });
    await cache?.close();
    await blobHost?.stop();
    await proxy?.stop();
    await upstream?.stop();
  });

  const context = (): RoundContext => ({ env: { proxy, blobHost }, upstream, cache, control, upstreamName: UPSTREAM });

  it.each(faultCases().map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    for (let round = 0; round < ROUNDS; round++) {
      const size = c.name.includes('trickle') ? 2 * KiB + round * 512 : (BLOB_SIZES[round % BLOB_SIZES.length] as number);
      await runRound(context(), c, size);
      passed += 1;
    }
  }, 30_000 * ROUNDS);

  it('leaves a store in which every blob verifies and nothing is half-written', async () => {
    const report = await cache.cache.store.check({ rehash: true });
    expect(report.corrupt).toEqual([]);
    expect(report.missingFiles).toEqual([]);
    expect(report.unindexedFiles).toEqual([]);
    expect(report.tempFiles).toBe(0);
    expect(report.rehashed).toBeGreaterThan(faultCases().length);
  });
});
