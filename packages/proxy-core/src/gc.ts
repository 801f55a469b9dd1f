/**
 * gc: bring the store under its budget and clear out what nothing can use.
 *
 *   1. consistency: orphaned temp files (not a write in progress in this process), index
 *      entries whose file is gone, files with no entry (re-indexed when they verify) — the
 *      store's own check, repaired unless this is a dry run;
 *   2. choose (gc-plan.ts): unlinked, images expired by `maxAge`, then least recently used
 *      images, whole, until the store fits in `maxSize` — never a blob being filled or read;
 *   3. remove, one blob at a time, each re-checked for use at the moment it goes — layers and
 *      configs first, then manifests, each only if nothing it references was found in use
 *      (an image being pulled keeps its manifest, so it stays whole and listed);
 *   4. drop tags whose manifest is no longer stored.
 *
 * A dry run does steps 1–2 and 4 without changing anything and reports what would go.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta } from '@regcache/blob-store';
import { planGc, type GcItem, type GcPlan } from './gc-plan.js';
import { readReferences } from './gc-refs.js';
import type { GuardedStore } from './guarded-store.js';

export interface GcOptions {
  /** Size budget in bytes. */
  maxSize?: number;
  /** Remove what was not used for this many ms. */
  maxAge?: number;
  dryRun?: boolean;
}

export interface GcProgress {
  done: number;
  total: number;
  bytes: number;
}

export interface GcResult {
  dryRun: boolean;
  maxSize: number | null;
  maxAge: number | null;
  sizeBefore: number;
  /** After the run (projected for a dry run). */
  sizeAfter: number;
  freedBytes: number;
  removed: GcItem[];
  skippedInUse: number;
  tagsRemoved: number;
  tempFiles: number;
  danglingEntries: number;
  unindexedFiles: number;
}

export interface GcDeps {
  store: GuardedStore;
  /** Digests being filled right now. */
  inFlight(): readonly Digest[];
  onRemoved?(item: GcItem): void;
  now?(): number;
  unlinkedGraceMs?: number;
}

const DEFAULT_UNLINKED_GRACE_MS = 10 * 60_000;

async function collectMetas(store: GuardedStore, missing: ReadonlySet<Digest>): Promise<BlobMeta[]> {
  const metas: BlobMeta[] = [];
  for await (const meta of store.blobs()) if (!missing.has(meta.digest)) metas.push(meta);
  return metas;
}

async function collectLinks(store: GuardedStore): Promise<Map<Digest, string[]>> {
  const links = new Map<Digest, string[]>();
  for await (const link of store.links()) {
    const names = links.get(link.digest) ?? [];
    names.push(`${link.upstream}/${link.repo}`);
    links.set(link.digest, names);
  }
  return links;
}

/**
 * Removes each blob in turn, unless it is being filled or is in use at that moment (checked
 * as it goes, not when it was chosen). gc's victims and rm's purge both go through here.
 */
export async function removeBlobs<T extends { digest: Digest; size: number }>(
  deps: Pick<GcDeps, 'store' | 'inFlight'>,
  victims: readonly T[],
  onRemoved?: (item: T) => void,
  onProgress?: (p: GcProgress) => void,
): Promise<{ removed: T[]; inUse: T[] }> {
  const removed: T[] = [];
  const inUse: T[] = [];
  let bytes = 0;
  for (const [index, victim] of victims.entries()) {
    const outcome = deps.inFlight().includes(victim.digest) ? 'in-use' : await deps.store.usage.removeUnlessInUse(victim.digest);
    if (outcome === 'in-use') inUse.push(victim);
    if (outcome === 'removed') {
      removed.push(victim);
      bytes += victim.size;
      onRemoved?.(victim);
    }
    onProgress?.({ done: index + 1, total: victims.length, bytes });
  }
  return { removed, inUse };
}

/** Tags whose manifest is not stored (any more, or `gone` in this run): counted, and deleted unless `dryRun`. */
async function dropDanglingTags(store: GuardedStore, gone: ReadonlySet<Digest>, dryRun: boolean): Promise<number> {
  let count = 0;
  for await (const entry of store.tags()) {
    const { digest } = entry.record;
    if (!gone.has(digest) && (await store.peek(digest)) !== undefined) continue;
    count++;
    if (!dryRun) await store.deleteTag(entry.upstream, entry.repo, entry.tag);
  }
  return count;
}

/**
 * A real run: the blobs, then the manifests whose referenced victims all went — one found in
 * use keeps the manifests naming it (counted as in use), as rm --purge does.
 */
async function removePlan(deps: GcDeps, plan: GcPlan, onProgress?: (p: GcProgress) => void): Promise<{ removed: GcItem[]; inUse: number }> {
  const blobs = plan.victims.filter((v) => !plan.needs.has(v.digest));
  const manifests = plan.victims.filter((v) => plan.needs.has(v.digest));
  const total = plan.victims.length;
  const first = await removeBlobs(deps, blobs, deps.onRemoved, (p) => onProgress?.({ ...p, total }));
  const busy = new Set(first.inUse.map((v) => v.digest));
  const free = manifests.filter((m) => !(plan.needs.get(m.digest) ?? []).some((d) => busy.has(d)));
  const freed = first.removed.reduce((sum, v) => sum + v.size, 0);
  const report = (p: GcProgress): void => onProgress?.({ done: blobs.length + p.done, total, bytes: freed + p.bytes });
  const second = await removeBlobs(deps, free, deps.onRemoved, report);
  return { removed: [...first.removed, ...second.removed], inUse: first.inUse.length + second.inUse.length + manifests.length - free.length };
}

export async function runGc(deps: GcDeps, opts: GcOptions, onProgress?: (p: GcProgress) => void): Promise<GcResult> {
  const dryRun = opts.dryRun === true;
  const { store } = deps;
  const report = await store.check({ repair: !dryRun });
  const metas = await collectMetas(store, new Set(report.missingFiles));
  const inFlight = new Set(deps.inFlight());
  const plan = planGc({
    metas,
    links: await collectLinks(store),
    refs: await readReferences(store, metas),
    busy: (digest) => inFlight.has(digest) || store.usage.inUse(digest),
    now: deps.now?.() ?? Date.now(),
    maxSize: opts.maxSize,
    maxAge: opts.maxAge,
    unlinkedGraceMs: deps.unlinkedGraceMs ?? DEFAULT_UNLINKED_GRACE_MS,
  });
  const done = dryRun ? { removed: plan.victims, inUse: 0 } : await removePlan(deps, plan, onProgress);
  const gone = new Set(done.removed.map((victim) => victim.digest));
  const freedBytes = done.removed.reduce((sum, victim) => sum + victim.size, 0);
  return {
    dryRun,
    maxSize: opts.maxSize ?? null,
    maxAge: opts.maxAge ?? null,
    sizeBefore: plan.sizeBefore,
    sizeAfter: plan.sizeBefore - freedBytes,
    freedBytes,
    removed: done.removed,
    skippedInUse: plan.skippedInUse + done.inUse,
    tagsRemoved: await dropDanglingTags(store, gone, dryRun),
    tempFiles: report.tempFiles,
    danglingEntries: report.missingFiles.length,
    unindexedFiles: report.unindexedFiles.length,
  };
}
