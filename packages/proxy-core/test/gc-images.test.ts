/**
 * gc weighs images, not blobs (gc-images.ts): nodes that already hold an image's layers only
 * re-check its manifest, and that use must keep the layers — by age and under a size budget
 * alike — or the image stays listed but cannot be pulled while the upstream is down. An image
 * gc does take goes whole: its manifests with its blobs, and its tag with them.
 * Real registry, real pulls (skopeo); ages are a few seconds against a short maxAge.
 */
import { describe, expect, it } from 'vitest';
import { skopeoPull, type TestImage } from '@regcache/testkit';
import type { GcResult } from '../src/index.js';
import type { RunningCache } from './helpers.js';
import { imageBytes, imageDigests, pinsLapse, useSeededCache, type SeededCache } from './ops-helpers.js';

async function pull(cache: RunningCache, image: TestImage): Promise<void> {
  const pulled = await skopeoPull(`${cache.host}/${image.name}:${image.tag}`, { all: image.children !== undefined });
  expect(pulled.code, pulled.stderr).toBe(0);
}

/** What a node holding the layers does: GET the manifest by tag, nothing else. */
async function recheck(cache: RunningCache, image: TestImage): Promise<void> {
  const res = await fetch(`${cache.url}/v2/${image.name}/manifests/${image.tag}`, { headers: { accept: image.mediaType } });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

/**
 * Pulls `pulled`, waits past the commit pins (and past a 1 s maxAge for every blob), then
 * re-checks only the manifests of oci and multiArch: the images in daily use.
 */
async function pullThenRecheck(fx: SeededCache, pulled: readonly TestImage[]): Promise<void> {
  for (const image of pulled) await pull(fx.cache, image);
  await pinsLapse();
  for (const image of [fx.images.oci, fx.images.multiArch]) await recheck(fx.cache, image);
}

const removedDigests = (result: GcResult): string[] => result.removed.map((r) => r.digest).sort();

describe('gc of images in use by their manifest only', () => {
  const fx = useSeededCache('gc-images');

  it('--max-age keeps every blob an image re-checked since references, an index through its platforms', async () => {
    const { admin, images } = fx;
    await pullThenRecheck(fx, [images.oci, images.multiArch]);
    const { result } = await admin.run<GcResult>('/gc', { maxAge: 1000 });
    expect(result.removed).toEqual([]);
    expect(result).toMatchObject({ tagsRemoved: 0, skippedInUse: 0 });
  }, 120_000);

  it('--max-age takes an image nobody used whole: manifest, blobs and tag', async () => {
    const { admin, images } = fx;
    await pullThenRecheck(fx, [images.docker]);
    const { result: dry } = await admin.run<GcResult>('/gc', { maxAge: 1000, dryRun: true });
    const { result } = await admin.run<GcResult>('/gc', { maxAge: 1000 });
    expect(removedDigests(result)).toEqual(imageDigests(images.docker).sort());
    expect(result.removed.every((r) => r.reason === 'age')).toBe(true);
    // The dry run listed exactly what went, in the order it went.
    expect(dry.removed).toEqual(result.removed);
    expect(result).toMatchObject({ tagsRemoved: 1, freedBytes: imageBytes(images.docker) });
    // Its manifest goes after its blobs: never a listed manifest whose layers are gone.
    expect(result.removed[result.removed.length - 1]?.digest).toBe(images.docker.digest);
  }, 120_000);

  it('under a size budget evicts the image not used, not the layers of the one re-checked', async () => {
    const { admin, images } = fx;
    // oci and multiArch are stored; docker is pulled now, after them, so its blobs are newest.
    await pullThenRecheck(fx, [images.docker]);
    const total = imageBytes(images.docker) + imageBytes(images.oci) + imageBytes(images.multiArch);
    const { result } = await admin.run<GcResult>('/gc', { maxSize: total - imageBytes(images.docker) });
    expect(removedDigests(result)).toEqual(imageDigests(images.docker).sort());
    expect(result.removed.every((r) => r.reason === 'size')).toBe(true);
    expect(result.tagsRemoved).toBe(1);
  }, 120_000);

  it('the images kept pull whole with the upstream down', async () => {
    const { cache, upstream, images } = fx;
    await upstream.stop();
    for (const image of [images.oci, images.multiArch]) await pull(cache, image);
  }, 120_000);
});
