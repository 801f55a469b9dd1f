/**
 * The links rm leaves behind, and drops. A link says a repository may be served a blob
 * (links.ts); blobs are shared by digest, links are not.
 *
 *   purged   rm --purge deletes a blob with every link to it, but keeps one another repository
 *            still uses (the same image cached under another name or upstream). The purged
 *            repository's links to it go all the same: it must not be served the purged image
 *            again, and its links would keep that content "used" by it, so that purging the
 *            other names later could never delete it. Links its remaining tags' images need
 *            stay.
 *   dangling a repository rm left with no tag (purge or allTags) loses its links to blobs not
 *            stored. An index pulled for one platform links every platform's manifest
 *            (manifest-fetch.ts), though only one was fetched; once the tags and content are
 *            gone those links were all that was left, and `ls` and `stats` went on listing the
 *            repository (0 blobs, 0 B) with nothing able to remove it. A digest being filled
 *            now is left alone: its fill links it as it starts.
 * A dropped link costs at most one HEAD upstream, if the repository asks for that blob again.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { TagEntry } from '@regcache/blob-store';
import type { GuardedStore } from './guarded-store.js';
import { splitRepository } from './image-tags.js';
import { addClosure, type StoredMetas } from './manifest-closure.js';

export interface RemoveLinkDeps {
  store: GuardedStore;
  /** Digests being filled right now. */
  inFlight(): readonly Digest[];
}

/**
 * Each purged repository's links to the digests of its purged images (`purged`: repository →
 * digests), less what its `remaining` tags' images reference: dropped unless `dryRun`; returns how many.
 */
export async function dropPurgedLinks(deps: RemoveLinkDeps, metas: StoredMetas, purged: ReadonlyMap<string, ReadonlySet<Digest>>, remaining: readonly TagEntry[], dryRun: boolean): Promise<number> {
  let dropped = 0;
  for (const [repository, digests] of purged) {
    const { upstream, repo } = splitRepository(repository);
    const needed = new Set<Digest>();
    for (const t of remaining) if (t.upstream === upstream && t.repo === repo) await addClosure(deps.store, metas, t.record.digest, needed);
    for (const digest of digests) {
      if (needed.has(digest) || !(await deps.store.isLinked(upstream, repo, digest))) continue;
      if (!dryRun) await deps.store.unlink(upstream, repo, digest);
      dropped++;
    }
  }
  return dropped;
}

/** The named repositories' (`upstream/repository`) links to blobs not stored: dropped unless `dryRun`; returns how many. */
export async function dropDanglingLinks(deps: RemoveLinkDeps, repositories: ReadonlySet<string>, dryRun: boolean): Promise<number> {
  if (repositories.size === 0) return 0;
  const candidates: Array<{ upstream: string; repo: string; digest: Digest }> = [];
  // Collected first, dropped after: the link iterator reads LevelDB, which the drops change.
  for await (const link of deps.store.links()) if (repositories.has(`${link.upstream}/${link.repo}`)) candidates.push(link);
  let dropped = 0;
  for (const link of candidates) {
    // peek, not stat: a stat pins the blob as a client's read would.
    if (deps.inFlight().includes(link.digest) || (await deps.store.peek(link.digest)) !== undefined) continue;
    if (!dryRun) await deps.store.unlink(link.upstream, link.repo, link.digest);
    dropped++;
  }
  return dropped;
}
