/**
 * rm (remove.ts) against a real registry and real pulls: forgetting a tag sends the next pull
 * by tag to the upstream (past the hot answer) and keeps the content; a purge deletes an
 * image's manifest and blobs but keeps a layer another cached image uses, forgets every tag
 * that named it, and leaves the other image pulling as hits; an index goes with its platform
 * manifests; an image with a layer being read keeps its manifests until a second purge; a dry run
 * changes nothing; bad references are input errors. With `allTags` a repository is named: every
 * cached tag of it is forgotten (or expired), and a purge takes each tag's image.
 */
import { access } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildImage, MediaTypes, pushBlob, pushManifest, randomLayer, seedImages, skopeoPull, type RunningRegistry } from '@regcache/testkit';
import { OperationInputError, type RemoveProgress, type RemoveResult } from '../src/index.js';
import { useCache, type RunningCache } from './helpers.js';
import { imageDigests, pinsLapse } from './ops-helpers.js';

interface Pushed {
  name: string;
  digest: string;
  /** config and layers */
  blobs: string[];
}

/** Pushes `name` with `layers` under each of `tags` (one manifest). */
async function push(upstream: RunningRegistry, name: string, layers: Buffer[], tags: string[]): Promise<Pushed> {
  const built = buildImage({ layers });
  const manifest = built[built.length - 1];
  if (manifest === undefined) throw new Error('buildImage returned nothing');
  const blobs = built.slice(0, -1);
  for (const blob of blobs) await pushBlob(upstream, name, blob.bytes);
  let digest = '';
  for (const tag of tags) digest = await pushManifest(upstream, name, tag, manifest.bytes, MediaTypes.ociManifest);
  return { name, digest, blobs: blobs.map((b) => b.digest) };
}

async function pull(cache: RunningCache, ref: string, all = false): Promise<void> {
  const pulled = await skopeoPull(`${cache.host}/${ref}`, { all });
  expect(pulled.code, pulled.stderr).toBe(0);
}

async function getManifest(cache: RunningCache, name: string, reference: string): Promise<number> {
  const res = await fetch(`${cache.url}/v2/${name}/manifests/${reference}`, { headers: { accept: MediaTypes.ociManifest } });
  await res.arrayBuffer();
  return res.status;
}

/** The blob's file on disk (blob-store's layout). Not store.stat(): a stat pins the blob, as a client's HEAD would, and a pinned blob is not purged. */
async function stored(cache: RunningCache, digest: string): Promise<boolean> {
  const hex = digest.slice('sha256:'.length);
  return access(join(cache.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex)).then(
    () => true,
    () => false,
  );
}
/** The manifest `name:reference` as the upstream holds it (bytes unchanged: pushed under another tag it keeps its digest). */
async function fetchOci(upstream: RunningRegistry, name: string, reference: string): Promise<Buffer> {
  const res = await fetch(`${upstream.url}/v2/${name}/manifests/${reference}`, { headers: { accept: MediaTypes.ociManifest } });
  return Buffer.from(await res.arrayBuffer());
}

const removedDigests = (r: RemoveResult): string[] => r.removed.map((b) => b.digest).sort();

describe('regcache-admin rm', () => {
  const fx = useCache();

  it('forgets a tag: the next pull by tag asks the upstream, past the hot answer; the content stays', async () => {
    const { upstream, cache } = fx();
    const image = await push(upstream, 'rm/forget', [await randomLayer('forget')], ['v1']);
    await pull(cache, 'rm/forget:v1');
    expect(await getManifest(cache, 'rm/forget', 'v1')).toBe(200);
    upstream.resetRequests();
    expect(await getManifest(cache, 'rm/forget', 'v1')).toBe(200);

    const dry = await cache.cache.operations.remove({ images: ['rm/forget:v1'], dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, notFound: [], tagsForgotten: ['docker.io/rm/forget:v1'], removed: [] });
    expect(await getManifest(cache, 'rm/forget', 'v1')).toBe(200);
    await upstream.settle();
    expect(upstream.countRequests('GET', '/v2/rm/forget/manifests/v1')).toBe(0);

    const result = await cache.cache.operations.remove({ images: ['rm/forget:v1'] });
    expect(result.images).toEqual([{ image: 'docker.io/rm/forget:v1', repository: 'docker.io/rm/forget', digest: image.digest, tags: ['docker.io/rm/forget:v1'] }]);
    expect((await cache.cache.operations.inventory('docker.io/rm/forget')).repositories[0]?.tags).toEqual([]);
    expect(await getManifest(cache, 'rm/forget', 'v1')).toBe(200);
    await upstream.settle();
    expect(upstream.countRequests('GET', '/v2/rm/forget/manifests/v1')).toBe(1);
    for (const digest of [image.digest, ...image.blobs]) expect(await stored(cache, digest), digest).toBe(true);
  }, 60_000);

  it('purges an image but keeps the layer another image uses; every tag naming it goes; the other image still pulls as hits', async () => {
    const { upstream, cache } = fx();
    const shared = await randomLayer('shared-base', 8 * 1024);
    const a = await push(upstream, 'rm/a', [shared, await randomLayer('a-app')], ['v1', 'also']);
    const b = await push(upstream, 'rm/b', [shared, await randomLayer('b-app')], ['v1']);
    for (const ref of ['rm/a:v1', 'rm/a:also', 'rm/b:v1']) await pull(cache, ref);
    await pinsLapse();
    const sharedDigest = a.blobs[0] ?? '';
    const own = [a.digest, ...a.blobs.filter((d) => d !== sharedDigest)].sort();

    const dry = await cache.cache.operations.remove({ images: ['rm/a:v1'], purge: true, dryRun: true });
    expect(removedDigests(dry)).toEqual(own);
    expect(dry).toMatchObject({ keptShared: 1, skippedInUse: 0, tagsForgotten: ['docker.io/rm/a:also', 'docker.io/rm/a:v1'] });
    for (const digest of own) expect(await stored(cache, digest), digest).toBe(true);

    const progress: RemoveProgress[] = [];
    const result = await cache.cache.operations.remove({ images: ['rm/a:v1'], purge: true }, (p) => progress.push(p));
    expect(removedDigests(result)).toEqual(own);
    expect(progress.at(-1)).toEqual({ done: own.length, total: own.length, bytes: result.freedBytes });
    expect(result).toMatchObject({ purge: true, keptShared: 1, skippedInUse: 0, tagsForgotten: ['docker.io/rm/a:also', 'docker.io/rm/a:v1'] });
    expect(result.freedBytes).toBe(result.removed.reduce((sum, blob) => sum + blob.size, 0));
    for (const digest of own) expect(await stored(cache, digest), digest).toBe(false);
    expect(await stored(cache, sharedDigest)).toBe(true);
    expect(await cache.cache.metrics.render()).toMatch(/regcache_evictions_total\{reason="purge"\} 3\b/);

    upstream.resetRequests();
    await pull(cache, 'rm/b:v1');
    await upstream.settle();
    expect(b.blobs.reduce((sum, d) => sum + upstream.countRequests('GET', `/v2/rm/b/blobs/${d}`), 0)).toBe(0);
    // The purged manifest by digest is a miss now (no hot answer left), fetched again.
    expect(await getManifest(cache, 'rm/a', a.digest)).toBe(200);
    await upstream.settle();
    expect(upstream.countRequests('GET', `/v2/rm/a/manifests/${a.digest}`)).toBe(1);
  }, 60_000);

  it('counts a pull by another tag of a cached manifest as a use of it (gc keeps the image it just served)', async () => {
    const { upstream, cache } = fx();
    const image = await push(upstream, 'rm/alias', [await randomLayer('alias', 1024)], ['v1']);
    expect(await getManifest(cache, 'rm/alias', 'v1')).toBe(200);
    const before = (await cache.cache.store.stat(image.digest as never))?.lastAccess ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await pushManifest(upstream, 'rm/alias', 'alias', (await fetchOci(upstream, 'rm/alias', 'v1')), MediaTypes.ociManifest);
    expect(await getManifest(cache, 'rm/alias', 'alias')).toBe(200);
    expect((await cache.cache.store.stat(image.digest as never))?.lastAccess ?? 0).toBeGreaterThan(before);
  });

  it('keeps an image whose layer is being read, and a second purge of the digest it names finishes it', async () => {
    const { upstream, cache } = fx();
    const image = await push(upstream, 'rm/held', [await randomLayer('held', 16 * 1024 * 1024)], ['v1']);
    const [layer = '', config = ''] = image.blobs;
    await pull(cache, 'rm/held:v1');
    await pinsLapse();
    // A client reading the layer and not keeping up: its sendfile holds the blob open.
    const reading = get(`${cache.url}/v2/rm/held/blobs/${layer}`);
    const response = await new Promise<IncomingMessage>((resolve, reject) => reading.once('response', resolve).once('error', reject));
    response.pause();

    // A dry run gives the answer a real run gives now, in-use blobs and all.
    const dry = await cache.cache.operations.remove({ images: ['rm/held:v1'], purge: true, dryRun: true });
    expect(dry).toMatchObject({ skippedInUse: 1, retry: [`docker.io/rm/held@${image.digest}`] });
    expect(removedDigests(dry)).toEqual([config]);
    const first = await cache.cache.operations.remove({ images: ['rm/held:v1'], purge: true });
    expect(first).toMatchObject({ skippedInUse: 1, retry: [`docker.io/rm/held@${image.digest}`], tagsForgotten: ['docker.io/rm/held:v1'] });
    expect(removedDigests(first)).toEqual([config]);
    expect(await stored(cache, layer)).toBe(true);
    expect(await stored(cache, image.digest)).toBe(true);

    reading.destroy();
    let second: RemoveResult | undefined;
    await expect
      .poll(async () => {
        second = await cache.cache.operations.remove({ images: first.retry, purge: true });
        return second.skippedInUse;
      })
      .toBe(0);
    expect(removedDigests(second as RemoveResult)).toEqual([image.digest, layer].sort());
    expect(second?.retry).toEqual([]);
    expect(await stored(cache, layer)).toBe(false);
    expect(await stored(cache, image.digest)).toBe(false);
  }, 60_000);

  it('purges an index with its platform manifests, configs and layers', async () => {
    const { upstream, cache } = fx();
    const { multiArch } = await seedImages(upstream, { prefix: 'rmidx' });
    await pull(cache, `${multiArch.name}:${multiArch.tag}`, true);
    await pinsLapse();
    const result = await cache.cache.operations.remove({ images: [`docker.io/${multiArch.name}@${multiArch.digest}`], purge: true });
    expect(removedDigests(result)).toEqual(imageDigests(multiArch).sort());
    expect(result.tagsForgotten).toEqual([`docker.io/${multiArch.name}:${multiArch.tag}`]);
    for (const digest of imageDigests(multiArch)) expect(await stored(cache, digest), digest).toBe(false);
  }, 120_000);

  it('allTags: every cached tag of a repository — expired, then purged — and nothing of another repository', async () => {
    const { upstream, cache } = fx();
    const one = await push(upstream, 'rm/all', [await randomLayer('all-1')], ['v1', 'stable']);
    const two = await push(upstream, 'rm/all', [await randomLayer('all-2')], ['v2']);
    const other = await push(upstream, 'rm/other', [await randomLayer('other')], ['v1']);
    for (const ref of ['rm/all:v1', 'rm/all:stable', 'rm/all:v2', 'rm/other:v1']) await pull(cache, ref);
    await pinsLapse();
    const names = ['docker.io/rm/all:stable', 'docker.io/rm/all:v1', 'docker.io/rm/all:v2'];

    const expired = await cache.cache.operations.expire({ images: ['rm/all'], allTags: true });
    expect(expired.tagsExpired).toEqual(names);
    expect(expired.images.map((i) => [i.image, i.digest])).toEqual([[names[0], one.digest], [names[1], one.digest], [names[2], two.digest]]);

    const result = await cache.cache.operations.remove({ images: ['docker.io/rm/all'], allTags: true, purge: true });
    expect(result.tagsForgotten).toEqual(names);
    expect(result.notFound).toEqual([]);
    // Both images' own blobs and manifests; the base layer stays for rm/other.
    // Both images' manifests and blobs; rm/other's all stay (a shared layer is the purge test above).
    const own = [...new Set([one.digest, two.digest, ...one.blobs, ...two.blobs])].filter((d) => !other.blobs.includes(d));
    expect(removedDigests(result)).toEqual(own.sort());
    for (const digest of other.blobs) expect(await stored(cache, digest), digest).toBe(true);
    expect((await cache.cache.operations.inventory('docker.io/rm/other')).repositories[0]?.tags.map((t) => t.tag)).toEqual(['v1']);
    upstream.resetRequests();
    await pull(cache, 'rm/other:v1');
    await upstream.settle();
    expect(upstream.requests().filter((e) => e.path.includes('/blobs/'))).toEqual([]);

    // Nothing cached left in it: not found (exit 1 in the CLI). A tag or digest is refused: it would say less than "all tags".
    expect(await cache.cache.operations.remove({ images: ['rm/all'], allTags: true })).toMatchObject({ notFound: ['docker.io/rm/all'], tagsForgotten: [] });
    await expect(cache.cache.operations.remove({ images: ['rm/other:v1'], allTags: true })).rejects.toThrow(/name the repository \(docker.io\/library\/alpine\) without a tag or digest/);
    await expect(cache.cache.operations.expire({ images: [`rm/other@${other.digest}`], allTags: true })).rejects.toThrow(OperationInputError);
  }, 120_000);

  it('reports images it does not hold, and refuses bad references before changing anything', async () => {
    const { cache } = fx();
    const none = await cache.cache.operations.remove({ images: ['rm/none:v1', 'rm/none@sha256:' + 'a'.repeat(64)], purge: true });
    expect(none).toMatchObject({ notFound: ['docker.io/rm/none:v1', `docker.io/rm/none@sha256:${'a'.repeat(64)}`], removed: [], tagsForgotten: [] });
    await expect(cache.cache.operations.remove({ images: ['rm/b:v1', 'UPPER/case:v1'] })).rejects.toThrow(OperationInputError);
    await expect(cache.cache.operations.remove({ images: ['ghcr.io/owner/x:v1'] })).rejects.toThrow(/no upstream named "ghcr.io"/);
    await expect(cache.cache.operations.remove({ images: [] })).rejects.toThrow(OperationInputError);
    // rm/b:v1 came before the bad reference: it is still there.
    expect((await cache.cache.operations.inventory('docker.io/rm/b')).repositories[0]?.tags.map((t) => t.tag) ?? []).toContain('v1');
  }, 30_000);
});
