/**
 * A full disk: the data dir on a 32 MiB tmpfs. A blob larger than the free space reaches its
 * client through pass-through (verified in memory, nothing stored); with the disk filled to
 * the last byte, new blobs and manifests still reach their clients, cached content is still
 * served, and nothing partial is kept; once space returns (the tmpfs grown, the filler
 * removed) the same pulls fill and commit again. A disk that refuses only the commit (blobs/
 * bind-mounted read-only) still hands the verified bytes over. The store verifies at the end.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountTmpfs, pushBlob, reportFigures, runChecked, runCommand, scaled, startRegistry, type RunningRegistry, type Tmpfs } from '@regcache/testkit';
import type { Digest } from '@regcache/registry-protocol';
import { expectStored, startCache, type RunningCache } from '../helpers.js';
import { getBlob, looksComplete, randomBlob } from '../fill-helpers.js';
import { httpPull, pushTinyImage, type TinyImage } from '../images.js';

const MiB = 1024 * 1024;
/** New blobs and images pulled while the disk is full (REGCACHE_DISK_ROUNDS). */
const ROUNDS = scaled('DISK_ROUNDS', 1, 8);

describe('a full disk (the data dir on a 32 MiB tmpfs)', () => {
  let upstream: RunningRegistry;
  let disk: Tmpfs;
  let cache: RunningCache;
  let cached: TinyImage;
  const big = randomBlob(48 * MiB);
  const smalls = Array.from({ length: ROUNDS }, (_, i) => randomBlob(256 * 1024 + i * 4096));
  const lates: TinyImage[] = [];
  const filler = (): string => join(disk.dir, 'filler');
  const blobUrl = (repo: string, digest: string): string => `${cache.url}/v2/${repo}/blobs/${digest}`;
  const tempFiles = (): Promise<string[]> => readdir(join(cache.dataDir, 'tmp'));

  beforeAll(async () => {
    upstream = await startRegistry();
    disk = await mountTmpfs(32, 'disk-full');
    // A short tag TTL: pulls by tag while the disk is full revalidate (and rewrite) a cached tag.
    // No prefetch: the checks count the temp files and free bytes of the clients' own pulls.
    cache = await startCache({
      upstreams: [{ name: 'docker.io', url: upstream.url, tagTtl: '1s' }],
      storage: { path: join(disk.dir, 'data') },
      fill: { prefetch: 0 },
    });
    cached = await pushTinyImage(upstream, 'full/cached', 'v1');
    expect((await httpPull(cache.url, cached.name, 'v1')).digest).toBe(cached.digest);
    await pushBlob(upstream, 'full/blobs', big.bytes);
    for (const small of smalls) await pushBlob(upstream, 'full/blobs', small.bytes);
    for (let i = 0; i < ROUNDS; i++) lates.push(await pushTinyImage(upstream, `full/late${i}`, 'v1'));
  }, 120_000);

  afterAll(async () => {
    await cache?.close();
    await disk?.unmount();
    await upstream?.stop();
  });

  it('passes a blob larger than the free space through to its client and keeps nothing of it', async () => {
    const through = await getBlob(blobUrl('full/blobs', big.digest));
    expect(looksComplete(through)).toBe(true);
    expect(through.digest).toBe(big.digest);
    expect(await cache.cache.store.stat(big.digest as Digest)).toBeUndefined();
    await expect.poll(tempFiles, { timeout: 5000 }).toEqual([]);
    expect(cache.cache.stats.snapshot().diskErrors).toBe(1);
    expect(cache.logs.some((l) => l.level === 'error' && String(l.msg).startsWith('disk write failed'))).toBe(true);
    expect((await httpPull(cache.url, cached.name, cached.digest)).digest).toBe(cached.digest);
  }, 60_000);

  it('with not one byte free: new blobs and manifests still reach clients, cached content is served, nothing is stored', async () => {
    await runChecked('fallocate', ['-l', String(await disk.freeBytes()), filler()]);
    expect(await disk.freeBytes()).toBeLessThan(64 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    for (const [small, late] of smalls.map((blob, i) => [blob, lates[i] as TinyImage] as const)) {
      const blob = await getBlob(blobUrl('full/blobs', small.digest));
      expect(looksComplete(blob) ? blob.digest : `status ${blob.status}`).toBe(small.digest);
      expect((await httpPull(cache.url, late.name, 'v1')).digest).toBe(late.digest);
      expect((await httpPull(cache.url, cached.name, 'v1')).digest).toBe(cached.digest);
      expect((await httpPull(cache.url, cached.name, cached.digest)).digest).toBe(cached.digest);
      for (const digest of [small.digest, late.digest]) expect(await cache.cache.store.stat(digest as Digest)).toBeUndefined();
    }
    await expect.poll(tempFiles, { timeout: 5000 }).toEqual([]);
  }, 60_000);

  it('fills and commits again once space returns', async () => {
    await rm(filler());
    await disk.remount({ sizeMiB: 128 });
    for (const blob of [big, ...smalls]) {
      const got = await getBlob(blobUrl('full/blobs', blob.digest));
      expect(looksComplete(got) && got.digest).toBe(blob.digest);
      await expectStored(cache, blob.digest);
    }
    for (const late of lates) {
      expect((await httpPull(cache.url, late.name, 'v1')).digest).toBe(late.digest);
      await expectStored(cache, late.digest);
    }
  }, 60_000);

  it('hands the verified bytes to the client when only the commit is refused (blobs/ read-only)', async () => {
    const blob = randomBlob(2 * MiB);
    await pushBlob(upstream, 'full/blobs', blob.bytes);
    const blobs = join(cache.dataDir, 'blobs');
    await runChecked('mount', ['--bind', blobs, blobs]);
    try {
      await runChecked('mount', ['-o', 'remount,bind,ro', blobs]);
      const got = await getBlob(blobUrl('full/blobs', blob.digest));
      expect(looksComplete(got) && got.digest).toBe(blob.digest);
      expect((await httpPull(cache.url, cached.name, cached.digest)).digest).toBe(cached.digest);
      // The client has its bytes once they verify; the refused commit comes after: wait for it
      // while blobs/ is still read-only.
      await expect.poll(() => cache.logs.some((l) => l.digest === blob.digest && String(l.msg).startsWith('disk write failed')), { timeout: 10_000 }).toBe(true);
    } finally {
      // A blob served a moment ago may still be open for its last sendfile: busy, briefly.
      await expect.poll(async () => (await runCommand('umount', [blobs])).code, { timeout: 10_000 }).toBe(0);
    }
    expect(await cache.cache.store.stat(blob.digest as Digest)).toBeUndefined();
    await expect.poll(tempFiles, { timeout: 5000 }).toEqual([]);
    expect(cache.logs.some((l) => l.digest === blob.digest && String(l.msg).startsWith('disk write failed'))).toBe(true);
    const again = await getBlob(blobUrl('full/blobs', blob.digest));
    expect(looksComplete(again) && again.digest).toBe(blob.digest);
    await expectStored(cache, blob.digest);
  }, 60_000);

  it('relays a blob to its client when no temp file can be created (tmp/ read-only), and fills it once tmp/ is back', async () => {
    const blobs = [randomBlob(3 * MiB), randomBlob(3 * MiB + 17)];
    for (const blob of blobs) await pushBlob(upstream, 'full/blobs', blob.bytes);
    const before = cache.cache.stats.snapshot();
    const tmp = join(cache.dataDir, 'tmp');
    await runChecked('mount', ['--bind', tmp, tmp]);
    try {
      await runChecked('mount', ['-o', 'remount,bind,ro', tmp]);
      // Two clients at once for one blob, and one alone for the other: each gets every byte.
      const [first, second, other] = await Promise.all([
        getBlob(blobUrl('full/blobs', blobs[0]!.digest)),
        getBlob(blobUrl('full/blobs', blobs[0]!.digest)),
        getBlob(blobUrl('full/blobs', blobs[1]!.digest)),
      ]);
      for (const got of [first, second]) expect(looksComplete(got) && got.digest).toBe(blobs[0]!.digest);
      expect(looksComplete(other) && other.digest).toBe(blobs[1]!.digest);
      expect((await httpPull(cache.url, cached.name, cached.digest)).digest).toBe(cached.digest);
    } finally {
      await expect.poll(async () => (await runCommand('umount', [tmp])).code, { timeout: 10_000 }).toBe(0);
    }
    const after = cache.cache.stats.snapshot();
    expect((after.diskErrors ?? 0) - (before.diskErrors ?? 0)).toBeGreaterThanOrEqual(2);
    expect(cache.logs.some((l) => l.digest === blobs[1]!.digest && String(l.msg).startsWith('disk write failed'))).toBe(true);
    for (const blob of blobs) expect(await cache.cache.store.stat(blob.digest as Digest)).toBeUndefined();
    for (const blob of blobs) {
      const again = await getBlob(blobUrl('full/blobs', blob.digest));
      expect(looksComplete(again) && again.digest).toBe(blob.digest);
      await expectStored(cache, blob.digest);
    }
  }, 60_000);

  it('leaves a store in which every blob verifies', async () => {
    const report = await cache.cache.store.check({ rehash: true });
    expect({ corrupt: report.corrupt, missing: report.missingFiles, unindexed: report.unindexedFiles, temp: report.tempFiles }).toEqual({ corrupt: [], missing: [], unindexed: [], temp: 0 });
    reportFigures('disk-full', { pullsWhileFull: ROUNDS * 2, diskErrors: cache.cache.stats.snapshot().diskErrors ?? 0, rehashed: report.rehashed, corrupt: report.corrupt.length });
  }, 60_000);
});
