/** gc's choice by image (gc-plan.ts, gc-images.ts), on its own: pure, with made-up metadata. */
import { describe, expect, it } from 'vitest';
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta } from '@regcache/blob-store';
import { planGc, type GcPlanInput } from '../src/gc-plan.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const digest = (n: number): Digest => `sha256:${n.toString(16).padStart(64, '0')}` as Digest;
const now = 1_000_000;
const blob = (n: number, size: number, age: number, mediaType?: string): BlobMeta => ({ digest: digest(n), size, createdAt: now - 100_000, lastAccess: now - age, hits: 0, mediaType });
const refs = (entries: Array<[number, number[]]>) => new Map(entries.map(([m, ds]) => [digest(m), ds.map(digest)] as const));

function plan(metas: BlobMeta[], references: ReturnType<typeof refs>, opts: Partial<GcPlanInput>) {
  const links = new Map(metas.map((m) => [m.digest, ['docker.io/x']] as const));
  return planGc({ metas, links, refs: references, now, unlinkedGraceMs: 1000, busy: () => false, ...opts });
}
const victims = (p: ReturnType<typeof planGc>): number[] => p.victims.map((v) => parseInt(v.digest.slice(7), 16));

describe('planGc by image', () => {
  // Image A: manifest 1 → layers 2, 3 (3 shared). Image B: manifest 4 → layers 3, 5. Layers old, manifests re-checked.
  const metas = [blob(1, 10, 50, MANIFEST), blob(2, 100, 9000), blob(3, 100, 9000), blob(4, 10, 10, MANIFEST), blob(5, 100, 9000)];
  const images = refs([[1, [2, 3]], [4, [3, 5]]]);

  it('a manifest used since keeps its layers from ageing out', () => {
    expect(victims(plan(metas, images, { maxAge: 1000 }))).toEqual([]);
  });

  it('evicts the least recently used image whole, blobs first, and keeps the layer a kept image shares', () => {
    const p = plan(metas, images, { maxSize: 250 });
    expect(victims(p)).toEqual([2, 1]);
    expect(p.needs.get(digest(1))).toEqual([digest(2)]);
    expect(victims(plan(metas, images, { maxSize: 0 }))).toEqual([2, 3, 5, 1, 4]);
  });

  it('keeps an image whole while one of its blobs is in use, and counts that blob', () => {
    const p = plan(metas, images, { maxSize: 0, busy: (d) => d === digest(2) });
    // A stays whole; B goes, but not layer 3, which A still holds.
    expect(victims(p)).toEqual([5, 4]);
    expect(p.skippedInUse).toBe(1);
  });

  it('an index re-checked keeps its platform manifests and their layers; unused, it goes first, then they do', () => {
    const multi = [blob(10, 5, 20, INDEX), blob(11, 5, 9000, MANIFEST), blob(12, 50, 9000), blob(13, 5, 9000, MANIFEST), blob(14, 50, 9000)];
    const index = refs([[10, [11, 13]], [11, [12]], [13, [14]]]);
    expect(victims(plan(multi, index, { maxAge: 1000 }))).toEqual([]);
    expect(victims(plan(multi, index, { maxAge: 10 }))).toEqual([12, 14, 11, 13, 10]);
  });

  it('a blob no manifest references is weighed by its own use', () => {
    const p = plan([...metas, blob(6, 100, 20_000)], images, { maxAge: 15_000 });
    expect(victims(p)).toEqual([6]);
  });
});
