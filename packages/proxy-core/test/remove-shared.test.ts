/**
 * rm --purge against images cached under more than one name, with a real registry standing in
 * for two upstreams (docker.io and other.io, same URL) and real skopeo pulls:
 *   - one manifest cached as three repositories (another on the same upstream, one on the other
 *     upstream): purging one forgets only its own tag, drops only its own links and deletes
 *     nothing the others use — their manifest included —, and they still pull without a blob or
 *     manifest from the upstream; purging the rest then deletes it all.
 *   - an index pulled for one platform links its other platforms' manifests, never stored:
 *     purging its only tag (or, with allTags, its repository) leaves nothing listed of it.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedImages, skopeoPull, startRegistry, type RunningRegistry } from '@regcache/testkit';
import type { RemoveResult } from '../src/index.js';
import { startCache, type RunningCache } from './helpers.js';
import { pinsLapse } from './ops-helpers.js';
import { pushSameImage } from './images.js';

/** One image (manifest, config, layer) pushed under each `name:1`: the same manifest digest in every repository. */
function pushShared(upstream: RunningRegistry, names: readonly string[]): Promise<{ digest: string; blobs: string[] }> {
  return pushSameImage(names.map((n) => [upstream, n] as const), '1', 'shared');
}

async function pull(cache: RunningCache, ref: string): Promise<void> {
  const pulled = await skopeoPull(`${cache.host}/${ref}`);
  expect(pulled.code, pulled.stderr).toBe(0);
}

/** The blob's file on disk. Not store.stat(): that pins the blob, and a pinned blob is not purged. */
async function stored(cache: RunningCache, digest: string): Promise<boolean> {
  const hex = digest.slice('sha256:'.length);
  return access(join(cache.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex)).then(
    () => true,
    () => false,
  );
}

const removedDigests = (r: RemoveResult): string[] => r.removed.map((b) => b.digest).sort();

describe('regcache-admin rm --purge: images cached under other names', () => {
  let upstream: RunningRegistry;
  let cache: RunningCache;
  beforeAll(async () => {
    upstream = await startRegistry();
    cache = await startCache({ upstreams: [{ name: 'docker.io', url: upstream.url }, { name: 'other.io', url: upstream.url }] });
  }, 60_000);
  afterAll(async () => {
    await cache.close();
    await upstream.stop();
  });

  it('purging one repository of a shared manifest keeps it for the others, on this upstream and another', async () => {
    const image = await pushShared(upstream, ['rms/api2', 'rms/api3', 'rms/api4']);
    for (const ref of ['rms/api2:1', 'other.io/rms/api3:1', 'rms/api4:1']) await pull(cache, ref);
    await pinsLapse();
    const all = [image.digest, ...image.blobs].sort();

    const dry = await cache.cache.operations.remove({ images: ['rms/api2:1'], purge: true, dryRun: true });
    // The purged repository's links to what it kept go: it is not served the image again.
    const expected = { tagsForgotten: ['docker.io/rms/api2:1'], removed: [], keptShared: all.length, skippedInUse: 0, linksDropped: all.length };
    expect(dry).toMatchObject(expected);
    expect(await cache.cache.operations.remove({ images: ['rms/api2:1'], purge: true })).toMatchObject(expected);
    for (const digest of all) expect(await stored(cache, digest), digest).toBe(true);
    const listed = (await cache.cache.operations.inventory()).repositories.map((r) => r.name);
    expect(listed.filter((name) => name.includes('/rms/'))).toEqual(['docker.io/rms/api4', 'other.io/rms/api3']);

    // The others are still whole in the cache: answered without the upstream's manifest or blobs.
    upstream.resetRequests();
    await pull(cache, 'other.io/rms/api3:1');
    await pull(cache, 'rms/api4:1');
    await upstream.settle();
    expect(upstream.requests().filter((e) => e.method === 'GET' && (e.path.includes('/blobs/') || e.path.endsWith(image.digest)))).toEqual([]);

    // With every name purged, nothing is left to keep it.
    await pinsLapse();
    const rest = await cache.cache.operations.remove({ images: ['other.io/rms/api3:1', 'rms/api4:1'], purge: true });
    expect(rest.tagsForgotten).toEqual(['docker.io/rms/api4:1', 'other.io/rms/api3:1']);
    expect(removedDigests(rest)).toEqual(all);
  }, 120_000);

  it('an index pulled for one platform: purging its tag, or its repository with allTags, leaves nothing of it listed', async () => {
    const { multiArch } = await seedImages(upstream, { prefix: 'rmd' });
    const repository = `docker.io/${multiArch.name}`;
    const listed = async (): Promise<string[]> => (await cache.cache.operations.inventory(repository)).repositories.map((r) => r.name);
    await pull(cache, `${multiArch.name}:${multiArch.tag}`);
    await pinsLapse();

    // The platform not pulled: its manifest is linked, not stored.
    const dry = await cache.cache.operations.remove({ images: [`${multiArch.name}:${multiArch.tag}`], purge: true, dryRun: true });
    expect(dry.linksDropped).toBe(1);
    expect(await listed()).toEqual([repository]);
    const purged = await cache.cache.operations.remove({ images: [`${multiArch.name}:${multiArch.tag}`], purge: true });
    expect(purged).toMatchObject({ tagsForgotten: [`${repository}:${multiArch.tag}`], skippedInUse: 0, linksDropped: 1 });
    expect(await listed()).toEqual([]);

    await pull(cache, `${multiArch.name}:${multiArch.tag}`);
    await pinsLapse();
    const byRepository = await cache.cache.operations.remove({ images: [repository], allTags: true, purge: true });
    expect(byRepository).toMatchObject({ tagsForgotten: [`${repository}:${multiArch.tag}`], notFound: [], linksDropped: 1 });
    expect(await listed()).toEqual([]);
  }, 120_000);
});
