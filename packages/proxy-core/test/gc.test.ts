/**
 * gc against a real registry and real pulls (skopeo): fill the cache past a budget, gc down
 * to it through the admin API, then the most recently used images still pull as hits (the
 * upstream sees no request for their blobs) and the evicted one pulls again as misses. And a
 * fill in flight while gc runs with a budget of zero is neither removed nor broken: its temp
 * file is not an orphan, its client gets every byte, and it commits; a blob a client is still
 * reading from its fill after the commit is kept until the client has gone; and a purge during
 * a layer's fill keeps the image named (in use, run again) rather than leave the layer behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, MediaTypes, pushBlob, pushManifest, skopeoPull, startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry, type TestImage } from '@regcache/testkit';
import type { GcResult, RemoveResult, StatsReport } from '../src/index.js';
import { startCache, type RunningCache } from './helpers.js';
import { eventually, imageBytes, imageDigests, pinsLapse, startAdmin, useSeededCache, type AdminListener } from './ops-helpers.js';

async function pull(cache: RunningCache, image: TestImage): Promise<void> {
  const pulled = await skopeoPull(`${cache.host}/${image.name}:${image.tag}`, { all: image.children !== undefined });
  expect(pulled.code, pulled.stderr).toBe(0);
}

/** `name:tag` with a config and `layers` (an OCI manifest); blobs in the manifest's order: config first. */
async function pushImage(upstream: RunningRegistry, name: string, layers: Buffer[], tag: string): Promise<{ digest: string; blobs: string[] }> {
  const built = buildImage({ layers });
  const manifest = built[built.length - 1];
  if (manifest === undefined) throw new Error('buildImage returned nothing');
  const blobs = [...built.slice(-2, -1), ...built.slice(0, -2)];
  for (const blob of blobs) await pushBlob(upstream, name, blob.bytes);
  return { digest: await pushManifest(upstream, name, tag, manifest.bytes, MediaTypes.ociManifest), blobs: blobs.map((b) => b.digest) };
}

function blobGets(upstream: RunningRegistry, image: TestImage): number {
  return image.blobs.reduce((sum, b) => sum + upstream.countRequests('GET', `/v2/${image.name}/blobs/${b.digest}`), 0);
}

describe('gc under a size budget', () => {
  const fx = useSeededCache('gc');

  it('evicts the least recently used image to fit; the others stay hits, the evicted one is fetched again', async () => {
    const { upstream, images, cache, admin } = fx;
    for (const image of [images.docker, images.oci, images.multiArch]) await pull(cache, image);
    const total = imageBytes(images.docker) + imageBytes(images.oci) + imageBytes(images.multiArch);
    expect((await admin.get<StatsReport>('/stats')).body.sizeBytes).toBe(total);

    const budget = total - imageBytes(images.docker);
    await pinsLapse();
    const { result, progress } = await admin.run<GcResult>('/gc', { maxSize: budget });
    expect(result.sizeAfter).toBeLessThanOrEqual(budget);
    expect(result.removed.map((r) => r.digest).sort()).toEqual(imageDigests(images.docker).sort());
    expect(result.removed.every((r) => r.reason === 'size')).toBe(true);
    expect(result).toMatchObject({ dryRun: false, skippedInUse: 0, tempFiles: 0, tagsRemoved: 1 });
    expect(progress.length).toBeGreaterThan(0);
    // The last report before the result is where the work ended, whatever the throttle held back.
    expect(progress[progress.length - 1]).toMatchObject({ done: result.removed.length, total: result.removed.length });
    expect((await admin.get<StatsReport>('/stats')).body.sizeBytes).toBe(budget);

    upstream.resetRequests();
    await pull(cache, images.oci);
    await pull(cache, images.multiArch);
    await upstream.settle();
    expect(blobGets(upstream, images.oci) + blobGets(upstream, images.multiArch)).toBe(0);

    await pull(cache, images.docker);
    await upstream.settle();
    for (const blob of images.docker.blobs) expect(upstream.countRequests('GET', `/v2/${images.docker.name}/blobs/${blob.digest}`), blob.digest).toBe(1);
  }, 120_000);

  it('a dry run lists the same choice and changes nothing', async () => {
    const { admin } = fx;
    const before = (await admin.get<StatsReport>('/stats')).body;
    const { result } = await admin.run<GcResult>('/gc', { maxSize: before.sizeBytes - 1, dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.removed.length).toBeGreaterThan(0);
    expect(result.freedBytes).toBeGreaterThan(0);
    expect((await admin.get<StatsReport>('/stats')).body).toMatchObject({ sizeBytes: before.sizeBytes, blobs: before.blobs, tags: before.tags });
  });
});

describe('gc beside a fill in flight', () => {
  let upstream: RunningRegistry;
  let proxy: FaultProxy;
  let cache: RunningCache;
  let admin: AdminListener;

  beforeAll(async () => {
    upstream = await startRegistry();
    proxy = await startFaultProxy(upstream.url);
    cache = await startCache({ upstreamUrl: proxy.url });
    admin = await startAdmin(cache.cache);
  }, 60_000);
  afterAll(async () => {
    await admin?.close();
    await cache?.close();
    await proxy?.stop();
    await upstream?.stop();
  });

  it('neither removes nor breaks it, and does not take its temp file for an orphan', async () => {
    const stored = randomBytes(256 * 1024);
    const storedDigest = await pushBlob(upstream, 'gc/stored', stored);
    expect((await fetch(`${cache.url}/v2/gc/stored/blobs/${storedDigest}`).then((res) => res.arrayBuffer())).byteLength).toBe(stored.length);
    await pinsLapse();
    const big = randomBytes(3 * 1024 * 1024);
    const digest = await pushBlob(upstream, 'gc/big', big);
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 1024 * 1024 }, new RegExp(digest.slice(7)));

    const download = fetch(`${cache.url}/v2/gc/big/blobs/${digest}`).then(
      async (res) => ({ status: res.status, body: Buffer.from(await res.arrayBuffer()) }),
      () => ({ status: 0, body: Buffer.alloc(0) }),
    );
    await eventually(async () => (await admin.text('/metrics')).body.includes('regcache_fills_in_flight 1'), 10_000, 'the fill to start');
    const temp = join(cache.dataDir, 'tmp');
    expect(await readdir(temp)).toHaveLength(1);

    const { result } = await admin.run<GcResult>('/gc', { maxSize: 0 });
    expect(result.removed.map((r) => r.digest)).toContain(storedDigest);
    expect(result.removed.map((r) => r.digest)).not.toContain(digest);
    expect(result.tempFiles).toBe(0);
    expect(await readdir(temp)).toHaveLength(1);

    const { status, body } = await download;
    expect(status).toBe(200);
    expect(`sha256:${createHash('sha256').update(body).digest('hex')}`).toBe(digest);
    await eventually(async () => (await cache.cache.store.stat(digest as never)) !== undefined, 10_000, 'the fill to commit');
    expect(await readdir(temp)).toHaveLength(0);
  }, 60_000);

  it('keeps a blob that a client following its fill is still reading after the commit, then removes it', async () => {
    const bytes = randomBytes(24 * 1024 * 1024);
    const digest = await pushBlob(upstream, 'gc/followed', bytes);
    // A client that follows the fill and stops reading: the fill ends and commits without it.
    const reading = get(`${cache.url}/v2/gc/followed/blobs/${digest}`);
    const response = await new Promise<IncomingMessage>((resolve, reject) => reading.once('response', resolve).once('error', reject));
    response.pause();
    await eventually(async () => (await admin.text('/metrics')).body.includes('regcache_fills_in_flight 0'), 10_000, 'the fill to end');
    await pinsLapse();
    const { result } = await admin.run<GcResult>('/gc', { maxSize: 0 });
    expect(result.removed.map((r) => r.digest)).not.toContain(digest);
    expect(result.skippedInUse).toBeGreaterThan(0);

    reading.destroy();
    await eventually(async () => (await admin.run<GcResult>('/gc', { maxSize: 0 })).result.removed.some((r) => r.digest === digest), 10_000, 'gc to remove it once the client has gone');
  }, 60_000);

  it('purges an image whose layer is still being filled only when run again: nothing is left behind', async () => {
    const layer = randomBytes(6 * 1024 * 1024);
    const image = await pushImage(upstream, 'gc/purged', [layer], 'v1');
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 1024 * 1024 }, new RegExp(image.blobs[1]!.slice(7)));
    try {
      const res = await fetch(`${cache.url}/v2/gc/purged/manifests/v1`, { headers: { accept: MediaTypes.ociManifest } });
      await res.arrayBuffer();
      const download = fetch(`${cache.url}/v2/gc/purged/blobs/${image.blobs[1]}`).then(
        async (r) => (await r.arrayBuffer()).byteLength,
        () => -1,
      );
      await eventually(async () => (await admin.text('/metrics')).body.includes('regcache_fills_in_flight 1'), 10_000, 'the fill to start');
      // The config, filled at once, no longer pinned by its commit: only the layer is in use.
      await pinsLapse();
      const { result } = await admin.run<RemoveResult>('/rm', { images: ['gc/purged:v1'], purge: true });
      expect(result.skippedInUse).toBe(1);
      expect(result.retry).toEqual([`docker.io/gc/purged@${image.digest}`]);
      expect(await download).toBe(layer.length);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    await eventually(async () => (await admin.text('/metrics')).body.includes('regcache_fills_in_flight 0'), 10_000, 'the fill to commit');
    await pinsLapse();
    const { result } = await admin.run<RemoveResult>('/rm', { images: [`gc/purged@${image.digest}`], purge: true });
    expect(result.removed.map((r) => r.digest)).toContain(image.blobs[1]);
    expect(await cache.cache.store.stat(image.blobs[1] as never)).toBeUndefined();
  }, 60_000);
});
