/**
 * `warm --platform` against a real registry, with images made here: an index's entries are
 * matched as containerd matches them (normalised: arm64's v8 and arm's v7 are their defaults,
 * aarch64 and x86_64 are aliases), and a single-platform image is checked against its config
 * — one of another platform fails, named with both platforms, before any layer is fetched.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobOf, MediaTypes, pushBlob, pushManifest, randomLayer, sha256, startRegistry, type RunningRegistry } from '@regcache/testkit';
import type { WarmProgress, WarmResult } from '../src/index.js';
import { expectStored, startCache, type RunningCache } from './helpers.js';

interface Pushed {
  digest: string;
  size: number;
  config: string;
  layer: string;
}

interface EntryPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An OCI image of one random layer whose config says `config` (os, architecture, variant — or none). */
async function pushImage(registry: RunningRegistry, name: string, tag: string, config: Record<string, string>): Promise<Pushed> {
  const layer = blobOf(await randomLayer(`${name}-${tag}`, 1024), MediaTypes.ociLayerGzip);
  // The layer's diff_id makes each config distinct, as real ones are (a cached twin would hide a fetch).
  const rootfs = { type: 'layers', diff_ids: [sha256(gunzipSync(layer.bytes))] };
  const configBlob = blobOf(Buffer.from(JSON.stringify({ ...config, config: {}, rootfs })), MediaTypes.ociConfig);
  const descriptor = (b: typeof layer) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: descriptor(configBlob), layers: [descriptor(layer)] });
  await pushBlob(registry, name, configBlob.bytes);
  await pushBlob(registry, name, layer.bytes);
  const digest = await pushManifest(registry, name, tag, manifest, MediaTypes.ociManifest);
  return { digest, size: Buffer.byteLength(manifest), config: configBlob.digest, layer: layer.digest };
}

/** An OCI index of one image per platform, each entry's platform written exactly as given. */
async function pushIndex(registry: RunningRegistry, name: string, platforms: EntryPlatform[]): Promise<Map<string, Pushed>> {
  const images = new Map<string, Pushed>();
  const manifests = [];
  for (const platform of platforms) {
    const parts = [platform.os, platform.architecture, platform.variant].filter((x) => x !== undefined);
    const image = await pushImage(registry, name, parts.join('-'), { ...platform });
    images.set(parts.join('/'), image);
    manifests.push({ mediaType: MediaTypes.ociManifest, digest: image.digest, size: image.size, platform });
  }
  await pushManifest(registry, name, 'v1', JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }), MediaTypes.ociIndex);
  return images;
}

describe('warm --platform', () => {
  let registry: RunningRegistry;
  let cache: RunningCache;
  let multi: Map<string, Pushed>;

  const warm = async (image: string, platform: string): Promise<{ result: WarmResult; progress: WarmProgress[] }> => {
    const progress: WarmProgress[] = [];
    const result = await cache.cache.operations.warm({ images: [image], platform }, (p) => progress.push(p));
    return { result, progress };
  };
  const gets = async (name: string, digest: string): Promise<number> => {
    await registry.settle();
    return registry.countRequests('GET', `/v2/${name}/blobs/${digest}`);
  };

  beforeAll(async () => {
    registry = await startRegistry();
    multi = await pushIndex(registry, 'plat/multi', [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'linux', architecture: 'arm' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
    ]);
    await pushIndex(registry, 'plat/bare', [{ os: 'linux', architecture: 'arm64' }]);
    // prefetch off: the counts below are what warm itself fetches (a manifest's first fetch
    // from the upstream otherwise schedules its blobs in the background, as for any client).
    cache = await startCache({ upstreamUrl: registry.url, fill: { prefetch: 0 } });
  }, 60_000);
  afterAll(async () => {
    await cache?.close();
    await registry?.stop();
  });

  it('takes an index entry as containerd does: default variants, architecture aliases', async () => {
    const cases: Array<[string, string, string[]]> = [
      ['plat/multi:v1', 'linux/arm64', ['linux/arm64/v8']],
      ['plat/multi:v1', 'linux/aarch64', ['linux/arm64/v8']],
      ['plat/multi:v1', 'linux/x86_64', ['linux/amd64']],
      ['plat/multi:v1', 'linux/x86-64', ['linux/amd64']],
      ['plat/multi:v1', 'linux/arm/v7', ['linux/arm']],
      // `linux/arm` is arm/v7: not also the v6 entry.
      ['plat/multi:v1', 'linux/arm', ['linux/arm']],
      ['plat/multi:v1', 'linux/arm/v6', ['linux/arm/v6']],
      ['plat/bare:v1', 'linux/arm64/v8', ['linux/arm64']],
      ['plat/bare:v1', 'Linux/AArch64/8', ['linux/arm64']],
    ];
    for (const [image, platform, platforms] of cases) {
      const { result } = await warm(image, platform);
      expect([platform, result.failed, result.images.map((i) => i.platforms)]).toEqual([platform, [], [platforms]]);
    }
    const v6 = multi.get('linux/arm/v6') as Pushed;
    expect(await gets('plat/multi', v6.layer)).toBe(1);
    const missing = await warm('plat/multi:v1', 'linux/arm64/v9');
    expect(missing.result.failed).toEqual([
      { image: 'docker.io/plat/multi:v1', error: 'no linux/arm64/v9 manifest in the index (it has linux/amd64, linux/arm64/v8, linux/arm, linux/arm/v6)' },
    ]);
  }, 60_000);

  it('fails a single-platform image of another platform, naming both, before fetching its layers', async () => {
    const amd64 = await pushImage(registry, 'plat/one', 'amd64', { os: 'linux', architecture: 'amd64' });
    const wrong = await warm('plat/one:amd64', 'linux/arm64');
    expect(wrong.result).toEqual({ images: [], failed: [{ image: 'docker.io/plat/one:amd64', error: 'the image is linux/amd64, not linux/arm64' }] });
    expect(wrong.progress).toEqual([]);
    expect([await gets('plat/one', amd64.config), await gets('plat/one', amd64.layer)]).toEqual([1, 0]);
    // The config stays cached (its fill commits just after its last byte went out).
    await expectStored(cache, amd64.config);
    // The same image asked for as it is (an alias): the config is a hit now, the layer comes.
    const right = await warm('plat/one:amd64', 'linux/x86_64');
    expect(right.result.images).toMatchObject([{ image: 'docker.io/plat/one:amd64', blobs: 2, cachedBlobs: 1 }]);
    expect(right.progress.map((p) => p.done)).toEqual([1, 2]);
    expect([await gets('plat/one', amd64.config), await gets('plat/one', amd64.layer)]).toEqual([1, 1]);
    // Variants count too: an arm config (v7 by default) is not arm/v6; arm64/v8 is arm64.
    await pushImage(registry, 'plat/one', 'arm', { os: 'linux', architecture: 'arm' });
    await pushImage(registry, 'plat/one', 'arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect((await warm('plat/one:arm', 'linux/arm/v6')).result.failed).toEqual([{ image: 'docker.io/plat/one:arm', error: 'the image is linux/arm, not linux/arm/v6' }]);
    expect((await warm('plat/one:arm', 'linux/arm/v7')).result.failed).toEqual([]);
    expect((await warm('plat/one:arm64', 'linux/arm64')).result.failed).toEqual([]);
    // A config that says no platform cannot disagree: warmed as before.
    const unsaid = await pushImage(registry, 'plat/one', 'unsaid', {});
    expect((await warm('plat/one:unsaid', 'linux/s390x')).result.images).toMatchObject([{ blobs: 2, cachedBlobs: 0 }]);
    expect(await gets('plat/one', unsaid.layer)).toBe(1);
  }, 60_000);
});
