/**
 * The cached tags that an operator's image references name: what `rm` and `expire` act on.
 *   NAME:TAG      that tag
 *   NAME@DIGEST   every tag of that repository pointing at the digest
 *   NAME          with `allTags`: every cached tag of the repository, each as NAME:TAG would be
 * References are parsed as `warm` parses them (image-ref.ts); a bad one is an
 * OperationInputError before anything is read or changed.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { TagEntry } from '@regcache/blob-store';
import type { GuardedStore } from './guarded-store.js';
import { parseImageRef, parseRepositoryRef, type ImageRef, type RepositoryRef } from './image-ref.js';
import { OperationInputError } from './operation-errors.js';

export interface NamedImage {
  /** `upstream/repository:tag` or `…@digest`, as stored. */
  image: string;
  /** `upstream/repository`, as stored. */
  repository: string;
  /** The image's manifest digest; null when the cache knows no such image. */
  digest: Digest | null;
  /** The `upstream/repository:tag` names it gave: NAME:TAG itself, or the repository's tags of NAME@DIGEST. */
  tags: string[];
}

export interface NamedTags {
  images: NamedImage[];
  /** Images named that the cache does not hold. */
  notFound: string[];
  /** The tags named, by `upstream/repository:tag`. */
  named: Map<string, TagEntry>;
  /** Every cached tag, as read before anything changed. */
  all: TagEntry[];
}

export interface NameScope {
  store: GuardedStore;
  upstreams: readonly string[];
  defaultUpstream: string;
}

export const tagName = (e: Pick<TagEntry, 'upstream' | 'repo' | 'tag'>): string => `${e.upstream}/${e.repo}:${e.tag}`;

/** `upstream/repository` split back (NamedImage.repository): upstream names hold no `/` (config-fields.ts). */
export function splitRepository(repository: string): { upstream: string; repo: string } {
  const slash = repository.indexOf('/');
  return { upstream: repository.slice(0, slash), repo: repository.slice(slash + 1) };
}

/** The tags `ref` names and the manifest it means (null when the cache holds neither). */
async function resolve(store: GuardedStore, all: readonly TagEntry[], ref: ImageRef): Promise<{ digest: Digest | null; tags: TagEntry[] }> {
  const inRepo = all.filter((t) => t.upstream === ref.upstream && t.repo === ref.repository);
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

export async function nameTags(scope: NameScope, images: readonly string[], opts: { allTags?: boolean } = {}): Promise<NamedTags> {
  if (images.length === 0) throw new OperationInputError('name at least one image, e.g. docker.io/library/alpine:3.20');
  // Every reference is parsed before anything is read: one bad one changes nothing.
  const parse = (image: string): ImageRef | RepositoryRef => (opts.allTags === true ? parseRepositoryRef : parseImageRef)(image, scope.upstreams, scope.defaultUpstream);
  const refs = images.map(parse);
  const all: TagEntry[] = [];
  for await (const entry of scope.store.tags()) all.push(entry);
  const result: NamedTags = { images: [], notFound: [], named: new Map(), all };
  const add = (image: NamedImage, tags: readonly TagEntry[]): void => {
    result.images.push(image);
    if (image.digest === null) result.notFound.push(image.image);
    for (const t of tags) result.named.set(tagName(t), t);
  };
  for (const ref of refs) {
    const repository = `${ref.upstream}/${ref.repository}`;
    if (!('reference' in ref)) {
      const tags = all.filter((t) => t.upstream === ref.upstream && t.repo === ref.repository).sort((a, b) => a.tag.localeCompare(b.tag));
      if (tags.length === 0) add({ image: ref.display, repository, digest: null, tags: [] }, []);
      for (const t of tags) add({ image: tagName(t), repository, digest: t.record.digest, tags: [tagName(t)] }, [t]);
      continue;
    }
    const found = await resolve(scope.store, all, ref);
    add({ image: ref.display, repository, digest: found.digest, tags: found.tags.map(tagName) }, found.tags);
  }
  return result;
}
