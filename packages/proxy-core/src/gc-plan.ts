/**
 * Choosing what gc removes — a pure function of the store's metadata, so a dry run and a real
 * run (and the admin API and the CLI) choose the same blobs.
 *
 *   age        not used for longer than `maxAge`
 *   unlinked   no repository links to it (nothing can be served it without asking the
 *              upstream again), and older than a grace period (a manifest is stored a moment
 *              before its links are written)
 *   size       least recently used first, until what is left fits in `maxSize`
 *
 * Blobs in use (a read, a fill, a stat about to read) are never chosen; they are counted, so
 * the summary can say why the store may still be over its budget.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta } from '@regcache/blob-store';

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

function expiredReason(meta: BlobMeta, input: GcPlanInput): GcReason | undefined {
  if (input.maxAge !== undefined && input.now - meta.lastAccess > input.maxAge) return 'age';
  const linked = (input.links.get(meta.digest)?.length ?? 0) > 0;
  if (!linked && input.now - meta.createdAt > input.unlinkedGraceMs) return 'unlinked';
  return undefined;
}

export function planGc(input: GcPlanInput): GcPlan {
  const ordered = [...input.metas].sort(lruOrder);
  const sizeBefore = ordered.reduce((sum, meta) => sum + meta.size, 0);
  const victims: GcItem[] = [];
  const chosen = new Set<Digest>();
  let skippedInUse = 0;
  let remaining = sizeBefore;
  const take = (meta: BlobMeta, reason: GcReason): void => {
    if (input.busy(meta.digest)) {
      skippedInUse++;
      return;
    }
    victims.push(item(meta, reason, input.links));
    chosen.add(meta.digest);
    remaining -= meta.size;
  };
  const seenBusy = new Set<Digest>();
  for (const meta of ordered) {
    const reason = expiredReason(meta, input);
    if (reason === undefined) continue;
    if (input.busy(meta.digest)) seenBusy.add(meta.digest);
    take(meta, reason);
  }
  if (input.maxSize !== undefined) {
    for (const meta of ordered) {
      if (remaining <= input.maxSize) break;
      if (chosen.has(meta.digest) || seenBusy.has(meta.digest)) continue;
      take(meta, 'size');
    }
  }
  return { victims, skippedInUse, sizeBefore };
}
