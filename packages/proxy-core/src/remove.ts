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
 *           not removed. Blobs go first, manifests last; an image with a blob in use keeps its
 *           manifests, so that `rm --purge upstream/repo@digest` (listed in `retry`) can finish
 *           it later — without them nothing would name that blob again. A manifest that a
 *           repository not being purged still tags or links (another repository, or upstream,
 *           holding the same image) is kept with all it references: blobs are shared by digest,
 *           tags and links are not. A tag of the purged repositories that named a deleted
 *           manifest is forgotten with it.
 *   links   a purged repository's links to the content it kept for others go (it is not served
 *           that image again); with purge or allTags a named repository left with no tag loses
 *           its links to blobs not stored too (an index links platform manifests never
 *           pulled), which alone kept it listed (remove-links.ts).
 * The hot answers (this thread's and the fronts') go with the tag or blob, through the
 * store's listeners. A dry run reports the same choice and changes nothing.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta, TagEntry } from '@regcache/blob-store';
import { removeBlobs, type GcProgress } from './gc.js';
import type { GuardedStore } from './guarded-store.js';
import { nameTags, tagName, type NamedImage, type NameScope } from './image-tags.js';
import { addClosure, collectStoredMetas, isManifest, type StoredMetas } from './manifest-closure.js';
import { dropDanglingLinks, dropPurgedLinks } from './remove-links.js';

export interface RemoveOptions {
  images: string[];
  /** Each image names a repository: every cached tag of it is named (image-tags.ts). */
  allTags?: boolean;
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
  /** purge: blobs in use (a fill, a read), not deleted. */
  skippedInUse: number;
  /** purge: `upstream/repository@digest` of the images kept because of those; rm --purge them again later. */
  retry: string[];
  /** Links of the named repositories dropped (would be): to content a purge kept for others, and (purge or allTags) to blobs not stored. */
  linksDropped: number;
}

/** Blobs deleted so far (a purge), as gc reports them. */
export type RemoveProgress = GcProgress;

export interface RemoveDeps extends NameScope {
  /** Digests being filled right now. */
  inFlight(): readonly Digest[];
  onRemoved?(blob: RemovedBlob): void;
}

interface PurgePlan {
  victims: BlobMeta[];
  /** Blobs of the purged images that a kept image also references. */
  shared: number;
  /** Each root's closure: what it would take with it. */
  closures: Map<Digest, Set<Digest>>;
  /**
   * Blobs of the purged images being filled right now: stored the moment their fill ends, after
   * this purge. They count as in use — their images stay named, so the purge can be run again.
   */
  filling: Digest[];
}

/**
 * `upstream/repository` of every link and cached tag, by digest: who may still need a manifest.
 * The repositories being purged are among them; usedElsewhere() looks past those.
 */
async function usersByDigest(store: GuardedStore, tags: readonly TagEntry[]): Promise<Map<Digest, Set<string>>> {
  const users = new Map<Digest, Set<string>>();
  const add = (digest: Digest, repository: string): void => {
    const known = users.get(digest);
    if (known === undefined) users.set(digest, new Set([repository]));
    else known.add(repository);
  };
  for await (const link of store.links()) add(link.digest, `${link.upstream}/${link.repo}`);
  for (const t of tags) add(t.record.digest, `${t.upstream}/${t.repo}`);
  return users;
}

/** True when a repository other than `purging` tags or links `digest`: its image is still cached there. */
function usedElsewhere(users: ReadonlyMap<Digest, ReadonlySet<string>>, purging: ReadonlySet<string>): (digest: Digest) => boolean {
  return (digest) => [...(users.get(digest) ?? [])].some((repository) => !purging.has(repository));
}

/**
 * What purging `roots` deletes: their closures less the closure of every manifest kept — one
 * outside them, or one of them that `keep` says another repository still uses (the same image
 * cached under another name: its manifest must stay along with every blob it references).
 */
async function planPurge(store: GuardedStore, metas: StoredMetas, roots: readonly Digest[], inFlight: ReadonlySet<Digest>, keep: (digest: Digest) => boolean): Promise<PurgePlan> {
  const closures = new Map<Digest, Set<Digest>>();
  for (const root of roots) {
    const closure = new Set<Digest>();
    await addClosure(store, metas, root, closure, inFlight);
    closures.set(root, closure);
  }
  const purged = new Set([...closures.values()].flatMap((c) => [...c]));
  const kept = new Set<Digest>();
  for (const [digest, meta] of metas) if (isManifest(meta) && (!purged.has(digest) || keep(digest))) await addClosure(store, metas, digest, kept, inFlight);
  const unkept = [...purged].filter((d) => !kept.has(d));
  const victims = unkept.flatMap((d) => metas.get(d) ?? []);
  const filling = unkept.filter((d) => !metas.has(d));
  return { victims, shared: purged.size - unkept.length, closures, filling };
}

const asRemoved = (m: BlobMeta): RemovedBlob => ({ digest: m.digest, size: m.size, mediaType: m.mediaType ?? null });

/**
 * Deletes the plan: layers and configs, then platform manifests, then the images' own
 * manifests. A manifest is not deleted while a blob of its image is in use: the image stays
 * named, so the purge can be run again for it (the roots returned as `kept`).
 */
async function deletePlan(plan: PurgePlan, removeBatch: RemoveBatch, onProgress?: (p: RemoveProgress) => void): Promise<{ removed: RemovedBlob[]; inUse: RemovedBlob[]; kept: Digest[] }> {
  const roots = new Set(plan.closures.keys());
  const busy = new Set<Digest>(plan.filling);
  const blocked = (root: Digest): boolean => [...(plan.closures.get(root) ?? [])].some((d) => busy.has(d));
  const steps = [(m: BlobMeta) => !isManifest(m), (m: BlobMeta) => isManifest(m) && !roots.has(m.digest), (m: BlobMeta) => roots.has(m.digest)];
  const removed: RemovedBlob[] = [];
  const inUse: RemovedBlob[] = [];
  const progress = { done: 0, bytes: 0 };
  for (const inStep of steps) {
    const held = new Set([...roots].filter(blocked).flatMap((root) => [...(plan.closures.get(root) ?? [])]));
    const step = plan.victims.filter(inStep);
    const batch = step.filter((m) => !(isManifest(m) && held.has(m.digest))).map(asRemoved);
    const report = (p: RemoveProgress): void => onProgress?.({ done: progress.done + p.done, total: plan.victims.length, bytes: progress.bytes + p.bytes });
    const done = await removeBatch(batch, report);
    progress.done += step.length;
    progress.bytes += done.removed.reduce((sum, b) => sum + b.size, 0);
    removed.push(...done.removed);
    inUse.push(...done.inUse);
    for (const b of done.inUse) busy.add(b.digest);
  }
  return { removed, inUse, kept: [...roots].filter(blocked) };
}

/** Removes a batch (or, in a dry run, says what would go): the blobs gone, and those in use. */
type RemoveBatch = (batch: RemovedBlob[], report: (p: RemoveProgress) => void) => Promise<{ removed: RemovedBlob[]; inUse: RemovedBlob[] }>;

/**
 * A dry run's batch: what removeBlobs would find in use this instant, nothing deleted — so a
 * dry run goes through deletePlan's own steps and gives the answer a real run would give now.
 */
function wouldRemove(deps: RemoveDeps): RemoveBatch {
  const inFlight = new Set(deps.inFlight());
  const busy = (b: RemovedBlob): boolean => inFlight.has(b.digest) || deps.store.usage.inUse(b.digest);
  return async (batch) => ({ removed: batch.filter((b) => !busy(b)), inUse: batch.filter(busy) });
}

/** Forgets `tags` (each once), unless a dry run. */
async function forget(store: GuardedStore, tags: readonly TagEntry[], dryRun: boolean): Promise<void> {
  if (dryRun) return;
  for (const t of tags) await store.deleteTag(t.upstream, t.repo, t.tag);
}

export async function removeImages(deps: RemoveDeps, opts: RemoveOptions, onProgress?: (p: RemoveProgress) => void): Promise<RemoveResult> {
  const dryRun = opts.dryRun === true;
  const purge = opts.purge === true;
  const { images, notFound, named, all } = await nameTags(deps, opts.images, { allTags: opts.allTags });
  const forgotten = new Map(named);
  const result: RemoveResult = { dryRun, purge, images, notFound, tagsForgotten: [], removed: [], freedBytes: 0, keptShared: 0, skippedInUse: 0, retry: [], linksDropped: 0 };
  // The named tags go first: a pull by one of them during the purge asks the upstream.
  await forget(deps.store, [...forgotten.values()], dryRun);
  if (purge) await forget(deps.store, await purgeImages(deps, result, all, forgotten, onProgress), dryRun);
  result.tagsForgotten = [...forgotten.keys()].sort();
  if (purge || opts.allTags === true) result.linksDropped += await dropDanglingLinks(deps, emptied(images, all, forgotten), dryRun);
  return result;
}

/** What each purged repository's images kept (a deleted blob's links went with it), by `upstream/repository`. */
function keptByRepository(images: readonly RemovedImage[], closures: ReadonlyMap<Digest, ReadonlySet<Digest>>, gone: ReadonlySet<Digest>): Map<string, Set<Digest>> {
  const kept = new Map<string, Set<Digest>>();
  for (const image of images) {
    const closure = image.digest === null ? undefined : closures.get(image.digest);
    if (closure === undefined) continue;
    const into = kept.get(image.repository) ?? new Set<Digest>();
    for (const d of closure) if (!gone.has(d)) into.add(d);
    kept.set(image.repository, into);
  }
  return kept;
}

/** The named images' repositories that no tag is left in. */
function emptied(images: readonly RemovedImage[], tags: readonly TagEntry[], forgotten: ReadonlyMap<string, TagEntry>): Set<string> {
  const tagged = new Set(tags.filter((t) => !forgotten.has(tagName(t))).map((t) => `${t.upstream}/${t.repo}`));
  return new Set(images.map((i) => i.repository).filter((r) => !tagged.has(r)));
}

/** Plans and (unless a dry run) deletes the images' content; resolves the other tags that named a deleted manifest (added to `forgotten`). */
async function purgeImages(deps: RemoveDeps, result: RemoveResult, tags: readonly TagEntry[], forgotten: Map<string, TagEntry>, onProgress?: (p: RemoveProgress) => void): Promise<TagEntry[]> {
  const metas = await collectStoredMetas(deps.store);
  const roots = result.images.flatMap((i) => (i.digest === null ? [] : [i.digest]));
  const purging = new Set(result.images.flatMap((i) => (i.digest === null ? [] : [i.repository])));
  const keep = usedElsewhere(await usersByDigest(deps.store, tags), purging);
  const plan = await planPurge(deps.store, metas, roots, new Set(deps.inFlight()), keep);
  const removeBatch: RemoveBatch = result.dryRun ? wouldRemove(deps) : (batch, report) => removeBlobs(deps, batch, deps.onRemoved, report);
  const done = await deletePlan(plan, removeBatch, result.dryRun ? undefined : onProgress);
  const gone = new Set(done.removed.map((b) => b.digest));
  result.removed = done.removed;
  result.freedBytes = done.removed.reduce((sum, b) => sum + b.size, 0);
  result.keptShared = plan.shared;
  result.skippedInUse = done.inUse.length + plan.filling.length;
  result.retry = result.images.flatMap((i) => (i.digest !== null && done.kept.includes(i.digest) ? [`${i.repository}@${i.digest}`] : []));
  const dangling = tags.filter((t) => gone.has(t.record.digest) && !forgotten.has(tagName(t)));
  for (const t of dangling) forgotten.set(tagName(t), t);
  const remaining = tags.filter((t) => !forgotten.has(tagName(t)));
  result.linksDropped = await dropPurgedLinks(deps, metas, keptByRepository(result.images, plan.closures, gone), remaining, result.dryRun);
  return dangling;
}
