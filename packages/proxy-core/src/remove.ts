/**
 * rm: forget images, and with `purge` delete what they store.
 *
 *   forget  NAME:TAG forgets that tag; NAME@DIGEST every tag of that repository pointing at
 *           the digest. The next pull by tag asks the upstream (a tag moved upstream is seen
 *           now, not when the TTL runs out; while the upstream is down, a forgotten tag
 *           cannot be served). The content stays: by digest it is still valid, gc weighs it.
 *   purge   also deletes the image's content: its manifest (an index's platform manifests
 *           too) and every blob they reference, except what a kept image still references
 *           (a shared base layer) and what is in use now (a fill, a read): those are counted,
 *           not removed. A tag anywhere that named a removed manifest is forgotten with it.
 * The hot answers (this thread's and the fronts') go with the tag or blob, through the
 * store's listeners. A dry run reports the same choice and changes nothing.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta, TagEntry } from '@regcache/blob-store';
import { removeBlobs, type GcProgress } from './gc.js';
import type { GuardedStore } from './guarded-store.js';
import { nameTags, tagName, type NamedImage, type NameScope } from './image-tags.js';
import { addClosure, collectStoredMetas, isManifest, type StoredMetas } from './manifest-closure.js';

export interface RemoveOptions {
  images: string[];
  purge?: boolean;
  dryRun?: boolean;
}

export type RemovedImage = NamedImage;

export interface RemovedBlob {
  digest: Digest;
  size: number;
  mediaType: string | null;
}

export interface RemoveResult {
  dryRun: boolean;
  purge: boolean;
  images: RemovedImage[];
  /** Images named that the cache does not hold. */
  notFound: string[];
  /** Every tag forgotten (would be, for a dry run): those named, and with purge any naming a deleted manifest. */
  tagsForgotten: string[];
  /** purge: the blobs deleted (to be deleted, for a dry run). */
  removed: RemovedBlob[];
  freedBytes: number;
  /** purge: blobs of these images that a kept image also references. */
  keptShared: number;
  /** purge: blobs in use (a fill, a read); run again to remove them. */
  skippedInUse: number;
}

/** Blobs deleted so far (a purge), as gc reports them. */
export type RemoveProgress = GcProgress;

export interface RemoveDeps extends NameScope {
  /** Digests being filled right now. */
  inFlight(): readonly Digest[];
  onRemoved?(blob: RemovedBlob): void;
}

/** What purging `roots` deletes: their closure less the closure of every manifest kept. */
async function planPurge(store: GuardedStore, metas: StoredMetas, roots: readonly Digest[]): Promise<{ victims: BlobMeta[]; shared: number }> {
  const purged = new Set<Digest>();
  for (const root of roots) await addClosure(store, metas, root, purged);
  const kept = new Set<Digest>();
  for (const [digest, meta] of metas) if (isManifest(meta) && !purged.has(digest)) await addClosure(store, metas, digest, kept);
  const victims = [...purged].filter((d) => !kept.has(d)).flatMap((d) => metas.get(d) ?? []);
  // Manifests first: a pull that starts meanwhile finds no image rather than one missing layers.
  victims.sort((a, b) => Number(isManifest(b)) - Number(isManifest(a)));
  return { victims, shared: purged.size - victims.length };
}

/** Forgets `tags` (each once), unless a dry run. */
async function forget(store: GuardedStore, tags: readonly TagEntry[], dryRun: boolean): Promise<void> {
  if (dryRun) return;
  for (const t of tags) await store.deleteTag(t.upstream, t.repo, t.tag);
}

export async function removeImages(deps: RemoveDeps, opts: RemoveOptions, onProgress?: (p: RemoveProgress) => void): Promise<RemoveResult> {
  const dryRun = opts.dryRun === true;
  const purge = opts.purge === true;
  const { images, notFound, named, all } = await nameTags(deps, opts.images);
  const forgotten = new Map(named);
  const result: RemoveResult = { dryRun, purge, images, notFound, tagsForgotten: [], removed: [], freedBytes: 0, keptShared: 0, skippedInUse: 0 };
  // The named tags go first: a pull by one of them during the purge asks the upstream.
  await forget(deps.store, [...forgotten.values()], dryRun);
  if (purge) await forget(deps.store, await purgeImages(deps, result, all, forgotten, onProgress), dryRun);
  result.tagsForgotten = [...forgotten.keys()].sort();
  return result;
}

/** Plans and (unless a dry run) deletes the images' content; resolves the other tags that named a deleted manifest (added to `forgotten`). */
async function purgeImages(deps: RemoveDeps, result: RemoveResult, tags: readonly TagEntry[], forgotten: Map<string, TagEntry>, onProgress?: (p: RemoveProgress) => void): Promise<TagEntry[]> {
  const metas = await collectStoredMetas(deps.store);
  const roots = result.images.flatMap((i) => (i.digest === null ? [] : [i.digest]));
  const plan = await planPurge(deps.store, metas, roots);
  const victims = plan.victims.map((m): RemovedBlob => ({ digest: m.digest, size: m.size, mediaType: m.mediaType ?? null }));
  const done = result.dryRun ? { removed: victims, skipped: 0 } : await removeBlobs(deps, victims, deps.onRemoved, onProgress);
  const gone = new Set(done.removed.map((b) => b.digest));
  result.removed = done.removed;
  result.freedBytes = done.removed.reduce((sum, b) => sum + b.size, 0);
  result.keptShared = plan.shared;
  result.skippedInUse = done.skipped;
  const dangling = tags.filter((t) => gone.has(t.record.digest) && !forgotten.has(tagName(t)));
  for (const t of dangling) forgotten.set(tagName(t), t);
  return dangling;
}
