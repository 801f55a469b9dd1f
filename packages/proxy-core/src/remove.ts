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
import { parseImageRef, type ImageRef } from './image-ref.js';
import { addClosure, collectStoredMetas, isManifest, type StoredMetas } from './manifest-closure.js';
import { OperationInputError } from './operation-errors.js';

export interface RemoveOptions {
  images: string[];
  purge?: boolean;
  dryRun?: boolean;
}

export interface RemovedImage {
  /** `upstream/repository:tag` or `…@digest`, as stored. */
  image: string;
  /** The image's manifest digest; null when the cache knows no such image. */
  digest: Digest | null;
  /** The `upstream/repository:tag` names it gave: NAME:TAG itself, or the repository's tags of NAME@DIGEST. */
  tags: string[];
}

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

export interface RemoveDeps {
  store: GuardedStore;
  upstreams: readonly string[];
  defaultUpstream: string;
  /** Digests being filled right now. */
  inFlight(): readonly Digest[];
  onRemoved?(blob: RemovedBlob): void;
}

const tagName = (e: Pick<TagEntry, 'upstream' | 'repo' | 'tag'>): string => `${e.upstream}/${e.repo}:${e.tag}`;

async function allTags(store: GuardedStore): Promise<TagEntry[]> {
  const tags: TagEntry[] = [];
  for await (const entry of store.tags()) tags.push(entry);
  return tags;
}

/** The tags `ref` names and the manifest it means (null when the cache holds neither). */
async function resolve(store: GuardedStore, tags: readonly TagEntry[], ref: ImageRef): Promise<{ digest: Digest | null; tags: TagEntry[] }> {
  const inRepo = tags.filter((t) => t.upstream === ref.upstream && t.repo === ref.repository);
  if (ref.reference.kind === 'tag') {
    const tag = ref.reference.tag;
    const named = inRepo.filter((t) => t.tag === tag);
    return { digest: named[0]?.record.digest ?? null, tags: named };
  }
  const digest = ref.reference.digest;
  const pointing = inRepo.filter((t) => t.record.digest === digest);
  const stored = pointing.length > 0 || (await store.peek(digest)) !== undefined;
  return { digest: stored ? digest : null, tags: pointing };
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
  const refs = opts.images.map((image) => parseImageRef(image, deps.upstreams, deps.defaultUpstream));
  if (refs.length === 0) throw new OperationInputError('name at least one image, e.g. docker.io/library/alpine:3.20');
  const dryRun = opts.dryRun === true;
  const purge = opts.purge === true;
  const { store } = deps;
  const tags = await allTags(store);
  const images: RemovedImage[] = [];
  const forgotten = new Map<string, TagEntry>();
  for (const ref of refs) {
    const found = await resolve(store, tags, ref);
    images.push({ image: ref.display, digest: found.digest, tags: found.tags.map(tagName) });
    for (const t of found.tags) forgotten.set(tagName(t), t);
  }
  const result: RemoveResult = { dryRun, purge, images, notFound: images.filter((i) => i.digest === null).map((i) => i.image), tagsForgotten: [], removed: [], freedBytes: 0, keptShared: 0, skippedInUse: 0 };
  // The named tags go first: a pull by one of them during the purge asks the upstream.
  await forget(store, [...forgotten.values()], dryRun);
  if (purge) await forget(store, await purgeImages(deps, result, tags, forgotten, onProgress), dryRun);
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
