/**
 * The cached tags that an operator's image references name: what `rm` and `expire` act on.
 *   NAME:TAG      that tag
 *   NAME@DIGEST   every tag of that repository pointing at the digest
 * References are parsed as `warm` parses them (image-ref.ts); a bad one is an
 * OperationInputError before anything is read or changed.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { TagEntry } from '@regcache/blob-store';
import type { GuardedStore } from './guarded-store.js';
import { parseImageRef, type ImageRef } from './image-ref.js';
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

export async function nameTags(scope: NameScope, images: readonly string[]): Promise<NamedTags> {
  const refs = images.map((image) => parseImageRef(image, scope.upstreams, scope.defaultUpstream));
  if (refs.length === 0) throw new OperationInputError('name at least one image, e.g. docker.io/library/alpine:3.20');
  const all: TagEntry[] = [];
  for await (const entry of scope.store.tags()) all.push(entry);
  const result: NamedTags = { images: [], notFound: [], named: new Map(), all };
  for (const ref of refs) {
    const found = await resolve(scope.store, all, ref);
    result.images.push({ image: ref.display, repository: `${ref.upstream}/${ref.repository}`, digest: found.digest, tags: found.tags.map(tagName) });
    if (found.digest === null) result.notFound.push(ref.display);
    for (const t of found.tags) result.named.set(tagName(t), t);
  }
  return result;
}
