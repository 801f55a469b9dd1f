/**
 * Automatic eviction in a running cache: pulls past the high watermark of `storage.maxSize`
 * bring the store down to the low watermark by themselves — least recently used first, so the
 * image just pulled stays a hit — and the metrics count the evictions.
 */
import { describe, expect, it } from 'vitest';
import { skopeoPull, type TestImage } from '@regcache/testkit';
import type { StatsReport } from '../src/index.js';
import { expectStored } from './helpers.js';
import { eventually, imageBytes, imageDigests, pinsLapse, useSeededCache, type SeededCache } from './ops-helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';

/** The first two images fit under the high watermark; the third pushes the store over it. */
const budgetFor = (images: SeededCache['images']): number => Math.ceil((imageBytes(images.docker) + imageBytes(images.oci)) / 0.9) + 1;

describe('automatic eviction at the watermarks', () => {
  const fx = useSeededCache('evict', (images) => ({ storage: { maxSize: `${budgetFor(images)}B`, highWatermark: 0.9, lowWatermark: 0.5 } }));

  const size = async (): Promise<number> => (await fx.admin.get<StatsReport>('/stats')).body.sizeBytes;
  const pull = async (image: TestImage): Promise<void> => {
    const pulled = await skopeoPull(`${fx.cache.host}/${image.name}:${image.tag}`, { all: image.children !== undefined });
    expect(pulled.code, pulled.stderr).toBe(0);
  };

  it('evicts down to the low watermark once the store grows past the high one', async () => {
    const { images, cache, admin } = fx;
    const maxSize = budgetFor(images);
    const low = Math.floor(maxSize * 0.5);
    expect(imageBytes(images.multiArch)).toBeLessThanOrEqual(low);
    await pull(images.docker);
    await pull(images.oci);
    await pinsLapse();
    expect(await size()).toBeLessThanOrEqual(maxSize * 0.9);
    await pull(images.multiArch);
    await eventually(async () => (await size()) <= low, 15_000, 'the store to shrink to the low watermark');

    for (const digest of imageDigests(images.multiArch)) await expectStored(cache, digest);
    const docker = await Promise.all(imageDigests(images.docker).map((d) => cache.cache.store.stat(d as never)));
    expect(docker.every((meta) => meta === undefined)).toBe(true);
    const metrics = parsePrometheusText((await admin.text('/metrics')).body);
    expect(valueOf(metrics, 'regcache_evictions_total', { reason: 'size' })).toBeGreaterThanOrEqual(imageDigests(images.docker).length);
    expect(cache.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('eviction: store was'))).toBe(true);
  }, 120_000);
});
