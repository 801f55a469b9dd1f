/**
 * expire: mark images' tags as past their TTL, without forgetting them. The next pull by such a
 * tag revalidates with the upstream — a HEAD, free under Docker Hub's pull limit — and gets the
 * new manifest if the tag moved; if the upstream cannot answer, the cached manifest is still
 * served (stale-if-error), so expiring is safe while the upstream is down, unlike `rm`. A 404
 * remembered for the repositories named (`notFoundTtl`) is forgotten too. The
 * hot answers (this thread's and the fronts') go with the tag write, through the store's
 * listeners.
 */
import { nameTags, splitRepository, type NamedImage, type NameScope } from './image-tags.js';

export interface ExpireOptions {
  images: string[];
  /** Each image names a repository: every cached tag of it is expired (image-tags.ts). */
  allTags?: boolean;
}

export interface ExpireResult {
  images: NamedImage[];
  /** Images named that the cache does not hold. */
  notFound: string[];
  /** The `upstream/repository:tag` names now expired. */
  tagsExpired: string[];
  /**
   * Images named whose repository had a 404 remembered (notFoundTtl), now forgotten: an image
   * pushed upstream after a pull found nothing — not cached, but the next pull asks again.
   */
  notFoundForgotten: string[];
}

export interface ExpireDeps extends NameScope {
  /** The upstream's `tagTtl` in ms. */
  tagTtl(upstream: string): number;
  /** Forgets the 404s remembered for a repository (`notFoundTtl`), cached or not. */
  forgetNotFound?(upstream: string, repo: string): boolean;
  now?(): number;
}

export async function expireImages(deps: ExpireDeps, opts: ExpireOptions): Promise<ExpireResult> {
  const { images, notFound, named } = await nameTags(deps, opts.images, { allTags: opts.allTags });
  // A tag pushed upstream after a remembered 404 (notFoundTtl) is seen now too.
  const forgotten = new Set<string>();
  for (const { repository } of images) {
    const { upstream, repo } = splitRepository(repository);
    if (deps.forgetNotFound?.(upstream, repo) === true) forgotten.add(repository);
  }
  // Recorded as fetched one TTL (and a millisecond) ago: past it, and — unlike a fixed "expired"
  // value — never equal to an earlier record's fetchedAt, which keys the revalidation a request
  // may share (manifests.ts): a second expire must not reuse the first one's HEAD.
  const fetchedAt = (deps.now?.() ?? Date.now()) - 1;
  for (const t of named.values()) await deps.store.putTag(t.upstream, t.repo, t.tag, { ...t.record, fetchedAt: Math.max(0, fetchedAt - deps.tagTtl(t.upstream)) });
  const notFoundForgotten = images.filter((i) => forgotten.has(i.repository)).map((i) => i.image);
  return { images, notFound, tagsExpired: [...named.keys()].sort(), notFoundForgotten };
}
