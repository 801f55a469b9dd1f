/**
 * A stored blob whose file was deleted or cut outside regcache (a cleanup script, a partial
 * restore) is fetched again, not answered 404 or a cut 200 until a restart's repair: its entry
 * is dropped and the request becomes a miss. A file cut while regcache holds it open (the
 * open-file cache) cuts that one response — its head was sent — and the retry fetches it again.
 * A file that cannot be read at all (a symbolic link to itself stands in for a failing disk's
 * EIO) is a disk error: the request is answered from the upstream, never a 500.
 */
import { lstat, rm, symlink, truncate } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { blobPath } from '@regcache/blob-store';
import { ACCEPT_ALL_MANIFESTS, pushBlob, startRegistry } from '@regcache/testkit';
import type { Digest } from '@regcache/registry-protocol';
import { expectStored, startCache, useProxiedCache } from './helpers.js';
import { httpPull, pushTinyImage } from './images.js';
import { getBlob, randomBlob } from './fill-helpers.js';

describe('blobs damaged outside regcache', () => {
  const fx = useProxiedCache();

  /** A blob pushed upstream and filled once through the cache (a miss: not held open after). */
  async function filled(repo: string): Promise<{ digest: string; url: string; file: string }> {
    const { upstream, cache } = fx();
    const blob = randomBlob(300 * 1024);
    await pushBlob(upstream, repo, blob.bytes);
    const url = `${cache.url}/v2/${repo}/blobs/${blob.digest}`;
    expect(await getBlob(url)).toMatchObject({ status: 200, digest: blob.digest, cache: 'miss' });
    await expectStored(cache, blob.digest);
    return { digest: blob.digest, url, file: blobPath(cache.dataDir, blob.digest as Digest) };
  }

  const upstreamGets = async (repo: string, digest: string): Promise<number> => {
    const { upstream } = fx();
    await upstream.settle();
    return upstream.countRequests('GET', `/v2/${repo}/blobs/${digest}`);
  };

  it('fetches again a blob whose file was deleted, or cut short, and stores it whole', async () => {
    for (const [repo, damage] of [
      ['damaged/deleted', (file: string) => rm(file)],
      ['damaged/cut', (file: string) => truncate(file, 1000)],
    ] as const) {
      const blob = await filled(repo);
      await damage(blob.file);
      expect(await getBlob(blob.url), repo).toMatchObject({ status: 200, digest: blob.digest, broken: false, cache: 'miss' });
      await expectStored(fx().cache, blob.digest);
      expect(await getBlob(blob.url), repo).toMatchObject({ status: 200, digest: blob.digest, cache: 'hit' });
      expect(await upstreamGets(repo, blob.digest), repo).toBe(2);
    }
    expect(fx().cache.logs.filter((l) => l.msg === 'stored blob damaged outside regcache: dropped, fetching it again').map((l) => l.found)).toEqual(['no file', '1000 bytes']);
  });

  it('answers a blob whose file cannot be read (an I/O error) from the upstream, and stores it again', async () => {
    const blob = await filled('damaged/unreadable');
    // A symbolic link to itself: every open and stat of the path fails (ELOOP), as a failing disk's EIO does.
    await rm(blob.file);
    await symlink(blob.file, blob.file);
    const before = fx().cache.cache.stats.snapshot().diskErrors ?? 0;
    expect(await getBlob(blob.url)).toMatchObject({ status: 200, digest: blob.digest, broken: false, cache: 'miss' });
    expect(fx().cache.logs.filter((l) => l.msg === 'unexpected error')).toEqual([]);
    expect(fx().cache.cache.stats.snapshot().diskErrors ?? 0).toBe(before + 1);
    // The fill replaces the unreadable path with the verified file (its index entry was kept meanwhile).
    for (let i = 0; i < 40 && !(await lstat(blob.file)).isFile(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await expectStored(fx().cache, blob.digest);
    let again = await getBlob(blob.url);
    for (let i = 0; i < 20 && again.cache !== 'hit'; i++) again = await getBlob(blob.url);
    expect(again).toMatchObject({ status: 200, digest: blob.digest, cache: 'hit' });
    expect(await upstreamGets('damaged/unreadable', blob.digest)).toBe(2);
  });

  it('cuts the one answer from a kept-open file that was cut meanwhile, and fetches it again for the retry', async () => {
    const blob = await filled('damaged/open');
    // A hit: the open-file cache now holds the file, with the size it had.
    expect(await getBlob(blob.url)).toMatchObject({ status: 200, digest: blob.digest, cache: 'hit' });
    await truncate(blob.file, 1000);
    expect(await getBlob(blob.url)).toMatchObject({ status: 200, broken: true, bytes: 1000 });
    expect(await getBlob(blob.url)).toMatchObject({ status: 200, digest: blob.digest, broken: false, cache: 'miss' });
    expect(await upstreamGets('damaged/open', blob.digest)).toBe(2);
  });
});

describe('manifests damaged outside regcache', () => {
  it('fetches again a stored manifest whose file was cut, deleted or cannot be read, by digest and by tag', async () => {
    const upstream = await startRegistry();
    try {
      for (const [name, damage] of [
        ['damaged/cut-manifest', (file: string) => truncate(file, 10)],
        ['damaged/gone-manifest', (file: string) => rm(file)],
        // Unreadable (ELOOP, as a failing disk's EIO): fetched from the upstream, not a 500.
        ['damaged/unreadable-manifest', async (file: string) => {
          await rm(file, { force: true });
          await symlink(file, file);
        }],
      ] as const) {
        const image = await pushTinyImage(upstream, name, 'v1');
        const first = await startCache({ upstreamUrl: upstream.url });
        expect((await httpPull(first.url, name, 'v1')).digest).toBe(image.digest);
        await first.close();
        // Reopened without the start-up repair (which would drop the entry): the damage is found when served.
        const reopen = () => startCache({ upstreamUrl: upstream.url, storage: { path: first.dataDir } }, { recover: false });
        for (const reference of [image.digest, 'v1']) {
          await damage(blobPath(first.dataDir, image.digest as Digest));
          const cache = await reopen();
          try {
            expect(await httpPull(cache.url, name, reference), `${name} by ${reference}`).toMatchObject({ status: 200, digest: image.digest });
          } finally {
            await cache.close();
          }
        }
      }
    } finally {
      await upstream.stop();
    }
  }, 60_000);

  it('answers the upstream error, counted once and not as stale, when the upstream is down and the stale copy is damaged', async () => {
    const upstream = await startRegistry();
    try {
      const image = await pushTinyImage(upstream, 'damaged/stale', 'v1');
      // tagTtl 0: every request by tag revalidates, so with the upstream down it is answered stale.
      const config = (path?: string) => ({ upstreams: [{ name: 'docker.io', url: upstream.url, tagTtl: 0 }], ...(path ? { storage: { path } } : {}) });
      const first = await startCache(config());
      expect((await httpPull(first.url, 'damaged/stale', 'v1')).digest).toBe(image.digest);
      await first.close();
      await upstream.stop();
      const reopen = () => startCache(config(first.dataDir), { recover: false });
      // The control: an intact copy is served stale, and counted so.
      const control = await reopen();
      try {
        expect(await httpPull(control.url, 'damaged/stale', 'v1')).toMatchObject({ status: 200, digest: image.digest, stale: true });
        expect(control.cache.stats.snapshot()).toMatchObject({ stale: 1, upstreamErrors: 1 });
      } finally {
        await control.close();
      }
      // Cut while no process holds it in memory: the next read is from disk, and checked.
      await truncate(blobPath(first.dataDir, image.digest as Digest), 10);
      const cache = await reopen();
      try {
        const res = await fetch(`${cache.url}/v2/damaged/stale/manifests/v1`, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
        expect(res.status).toBe(503);
        expect(res.headers.get('x-regcache-stale')).toBeNull();
        expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe('UNAVAILABLE');
        const counts = cache.cache.stats.snapshot();
        expect([counts.stale ?? 0, counts.upstreamErrors]).toEqual([0, 1]);
      } finally {
        await cache.close();
      }
    } finally {
      await upstream.stop();
    }
  }, 60_000);
});
