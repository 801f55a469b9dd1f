/**
 * Choosing what gc removes — a pure function of the store's metadata, so a dry run and a real
 * run (and the admin API and the CLI) choose the same blobs.
 *
 *   age        not used for longer than `maxAge` — an image as a whole: a use of a manifest
 *              is a use of all it references (gc-images.ts)
 *   unlinked   no repository links to it (nothing can be served it without asking the
 *              upstream again), and older than a grace period (a manifest is stored a moment
 *              before its links are written)
 *   size       least recently used image first, whole (its manifests and every blob no kept
 *              image shares), until what is left fits in `maxSize`
 *
 * Blobs in use (a read, a fill, a stat about to read) are never chosen, nor anything of an
 * image one of them belongs to; they are counted, so the summary can say why the store may
 * still be over its budget.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta } from '@regcache/blob-store';
import { groupImages, type ImageUnit, type Images } from './gc-images.js';
import type { References } from './gc-refs.js';
import { isManifest } from './manifest-closure.js';

export type GcReason = 'age' | 'unlinked' | 'size';

export interface GcItem {
  digest: Digest;
  size: number;
  mediaType: string | null;
  lastAccess: number;
  reason: GcReason;
  /** `upstream/repository` names linked to it. */
  repositories: string[];
}

export interface GcPlanInput {
  metas: readonly BlobMeta[];
  /** digest → `upstream/repository` names linked to it. */
  links: ReadonlyMap<Digest, readonly string[]>;
  /** manifest → the stored digests it references (gc-refs.ts); without, each blob is weighed alone. */
  refs?: References;
  busy(digest: Digest): boolean;
  now: number;
  maxSize?: number;
  maxAge?: number;
  unlinkedGraceMs: number;
}

export interface GcPlan {
  victims: GcItem[];
  /** Blobs gc would have removed but which are in use. */
  skippedInUse: number;
  sizeBefore: number;
  /** Each manifest among the victims → the victims it references, to be removed before it. */
  needs: ReadonlyMap<Digest, readonly Digest[]>;
}

/** Least recently used first; ties by age, then digest, so the order is stable. */
export function lruOrder(a: BlobMeta, b: BlobMeta): number {
  return a.lastAccess - b.lastAccess || a.createdAt - b.createdAt || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);
}

function item(meta: BlobMeta, reason: GcReason, links: GcPlanInput['links']): GcItem {
  return {
    digest: meta.digest,
    size: meta.size,
    mediaType: meta.mediaType ?? null,
    lastAccess: meta.lastAccess,
    reason,
    repositories: [...(links.get(meta.digest) ?? [])],
  };
}

function unlinked(meta: BlobMeta, input: GcPlanInput): boolean {
  const linked = (input.links.get(meta.digest)?.length ?? 0) > 0;
  return !linked && input.now - meta.createdAt > input.unlinkedGraceMs;
}

/** The plan as it is built: what is chosen (in order), and the images taken or kept for use. */
interface Choosing {
  /** digest → why, and the use it was weighed by (the image's, for a blob taken with one). */
  chosen: Map<Digest, { reason: GcReason; used: number }>;
  /** Busy blobs already counted in skippedInUse (each once). */
  counted: Set<Digest>;
  /** Units decided: taken, or kept because a blob they would free is in use. */
  decided: Set<Digest>;
  remaining: number;
}

/**
 * Takes an image whole: every blob of it that no other kept image holds — or nothing, when
 * one of those is in use (the image is being pulled: keep it complete, count what is busy).
 */
function takeUnit(unit: ImageUnit, reason: GcReason, images: Images, state: Choosing, input: GcPlanInput, sizes: ReadonlyMap<Digest, number>): void {
  state.decided.add(unit.root);
  const freed = unit.members.filter((d) => images.holders.get(d) === 1 && !state.chosen.has(d));
  const busy = freed.filter((d) => input.busy(d));
  for (const d of busy) state.counted.add(d);
  if (busy.length > 0) return;
  for (const d of unit.members) images.holders.set(d, (images.holders.get(d) ?? 1) - 1);
  for (const d of freed) {
    state.chosen.set(d, { reason, used: unit.lastUsed });
    state.remaining -= sizes.get(d) ?? 0;
  }
}

/**
 * Victims in removal order: blobs first, then platform manifests, then the manifests naming
 * them; each group least recently used first (by the image's use, for a blob taken with one).
 */
function removalOrder(state: Choosing, byDigest: ReadonlyMap<Digest, BlobMeta>, images: Images): BlobMeta[] {
  const nested = new Set(images.units.filter((u) => u.nested).map((u) => u.root));
  const rank = (m: BlobMeta): number => (!isManifest(m) ? 0 : nested.has(m.digest) ? 1 : 2);
  const used = (m: BlobMeta): number => state.chosen.get(m.digest)?.used ?? 0;
  const metas = [...state.chosen.keys()].flatMap((d) => byDigest.get(d) ?? []);
  // sort() is stable: on a tie, the order chosen (images in turn) holds.
  return [0, 1, 2].flatMap((r) => metas.filter((m) => rank(m) === r).sort((a, b) => used(a) - used(b)));
}

/** Each manifest victim → the other victims it references: a real run removes it only after them. */
function needsOf(victims: readonly BlobMeta[], images: Images): Map<Digest, Digest[]> {
  const chosen = new Set(victims.map((v) => v.digest));
  const units = new Map(images.units.map((u) => [u.root, u] as const));
  const needs = new Map<Digest, Digest[]>();
  for (const v of victims) {
    const members = isManifest(v) ? units.get(v.digest)?.members : undefined;
    if (members !== undefined) needs.set(v.digest, members.filter((d) => d !== v.digest && chosen.has(d)));
  }
  return needs;
}

export function planGc(input: GcPlanInput): GcPlan {
  const byDigest = new Map(input.metas.map((m) => [m.digest, m] as const));
  const sizes = new Map(input.metas.map((m) => [m.digest, m.size] as const));
  const sizeBefore = input.metas.reduce((sum, meta) => sum + meta.size, 0);
  const images = groupImages(input.metas, input.refs ?? new Map());
  const state: Choosing = { chosen: new Map(), counted: new Set(), decided: new Set(), remaining: sizeBefore };
  // Unlinked blobs go one by one: without a link nothing is served them offline anyway.
  for (const meta of [...input.metas].sort(lruOrder)) {
    if (!unlinked(meta, input)) continue;
    if (input.busy(meta.digest)) state.counted.add(meta.digest);
    else (state.chosen.set(meta.digest, { reason: 'unlinked', used: meta.lastAccess }), (state.remaining -= meta.size));
  }
  const { maxAge, maxSize } = input;
  for (const unit of images.units) {
    if (maxAge !== undefined && input.now - unit.lastUsed > maxAge) takeUnit(unit, 'age', images, state, input, sizes);
  }
  for (const unit of maxSize === undefined ? [] : images.units) {
    if (state.remaining <= (maxSize ?? 0)) break;
    if (!state.decided.has(unit.root)) takeUnit(unit, 'size', images, state, input, sizes);
  }
  const victims = removalOrder(state, byDigest, images);
  const items = victims.map((meta) => item(meta, state.chosen.get(meta.digest)?.reason ?? 'size', input.links));
  return { victims: items, skippedInUse: state.counted.size, sizeBefore, needs: needsOf(victims, images) };
}
