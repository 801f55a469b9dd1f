/**
 * What the cache holds, by repository: `regcache-admin ls`. A repository is known by its
 * links (the blobs it may be served) and its cached tags. A tag's size is what its image
 * occupies on disk: the manifest and every stored blob it references (for an index, every
 * platform's manifest and blobs). Last use is the latest pull of a manifest — layers are
 * shared between images, so their access times say little about one image.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta, BlobStore, TagEntry } from '@regcache/blob-store';
import { addClosure, collectStoredMetas, isManifest } from './manifest-closure.js';
import { OperationInputError } from './operation-errors.js';

export interface TagInfo {
  tag: string;
  digest: Digest;
  mediaType: string;
  /** Stored bytes of the image (0 when its manifest is no longer stored). */
  sizeBytes: number;
  lastUsed: number | null;
  /** When the upstream last confirmed the tag (moved back by `expire`, which marks it past its TTL). */
  fetchedAt: number;
  /** Past its upstream's `tagTtl`, or expired: the next pull of it asks the upstream first. */
  checkDue: boolean;
}

export interface RepositoryInfo {
  /** `upstream/repository`. */
  name: string;
  upstream: string;
  repository: string;
  tags: TagInfo[];
  blobs: number;
  sizeBytes: number;
  lastUsed: number | null;
}

export interface Inventory {
  filter: string | null;
  repositories: RepositoryInfo[];
}

const FILTER = /^[a-z0-9][a-z0-9._:/-]*$/i;

function repoEntry(into: Map<string, RepositoryInfo>, upstream: string, repository: string): RepositoryInfo {
  const name = `${upstream}/${repository}`;
  const existing = into.get(name);
  if (existing) return existing;
  const fresh: RepositoryInfo = { name, upstream, repository, tags: [], blobs: 0, sizeBytes: 0, lastUsed: null };
  into.set(name, fresh);
  return fresh;
}

function latest(a: number | null, b: number | undefined): number | null {
  if (b === undefined) return a;
  return a === null ? b : Math.max(a, b);
}

async function tagInfo(store: BlobStore, metas: ReadonlyMap<Digest, BlobMeta>, entry: TagEntry, tagTtl: (upstream: string) => number): Promise<TagInfo> {
  const digests = new Set<Digest>();
  await addClosure(store, metas, entry.record.digest, digests);
  let sizeBytes = 0;
  let lastUsed: number | null = null;
  for (const d of digests) {
    const meta = metas.get(d);
    sizeBytes += meta?.size ?? 0;
    if (isManifest(meta)) lastUsed = latest(lastUsed, meta?.lastAccess);
  }
  const { digest, mediaType, fetchedAt } = entry.record;
  return { tag: entry.tag, digest, mediaType, sizeBytes, lastUsed, fetchedAt, checkDue: Date.now() - fetchedAt >= tagTtl(entry.upstream) };
}

function matches(info: RepositoryInfo, filter: string | undefined): boolean {
  if (filter === undefined) return true;
  return info.name === filter || info.name.startsWith(`${filter}/`) || info.repository === filter;
}

/**
 * A filter that could never match a cached repository is a mistake to say, not an empty answer:
 * an empty one, one with a tag or digest (`ls` lists a repository's tags itself), or one with
 * capitals (repository names are lowercase, and so are upstream names: config.ts).
 */
function checkFilter(filter: string): void {
  const usage = '(use e.g. docker.io/library/alpine)';
  if (filter.trim() === '') throw new OperationInputError(`not a repository name: the argument is empty ${usage}`);
  if (filter.includes('@') || filter.lastIndexOf(':') > filter.lastIndexOf('/')) {
    throw new OperationInputError(`not a repository name: "${filter}": ls lists a repository's tags itself; name the repository without a tag or digest ${usage}`);
  }
  if (/[A-Z]/.test(filter)) throw new OperationInputError(`not a repository name: "${filter}": names are lowercase ${usage}`);
  if (!FILTER.test(filter)) throw new OperationInputError(`not a repository name: "${filter}" ${usage}`);
}

/** `tagTtl`: each upstream's, by name (whether a tag is due for a check). */
export async function listInventory(store: BlobStore, filter: string | undefined, tagTtl: (upstream: string) => number): Promise<Inventory> {
  if (filter !== undefined) checkFilter(filter);
  const wanted = filter?.replace(/\/+$/, '');
  const metas = await collectStoredMetas(store);
  const repos = new Map<string, RepositoryInfo>();
  for await (const link of store.links()) {
    const repo = repoEntry(repos, link.upstream, link.repo);
    const meta = metas.get(link.digest);
    if (meta === undefined) continue;
    repo.blobs++;
    repo.sizeBytes += meta.size;
    if (isManifest(meta)) repo.lastUsed = latest(repo.lastUsed, meta.lastAccess);
  }
  for await (const entry of store.tags()) {
    const repo = repoEntry(repos, entry.upstream, entry.repo);
    if (matches(repo, wanted)) repo.tags.push(await tagInfo(store, metas, entry, tagTtl));
  }
  const repositories = [...repos.values()].filter((repo) => matches(repo, wanted)).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const repo of repositories) repo.tags.sort((a, b) => (a.tag < b.tag ? -1 : 1));
  return { filter: wanted ?? null, repositories };
}
