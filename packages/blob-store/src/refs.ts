/**
 * Repository links and cached tags — the index's per-upstream knowledge (key layout in
 * keys.ts). Blobs are shared by digest across upstreams; links and tags are not: a blob is
 * served to `upstream/repo` only once that repository is known to reference it, and
 * `docker.io/library/alpine:latest` and `ghcr.io/library/alpine:latest` are different tags.
 */
import type { IndexDb } from './index-db.js';
import { decodeTag, linkKey, parseTagKey, reverseLinkKey, tagKey, TAG_RANGE } from './keys.js';
import type { BlobStore, TagEntry } from './types.js';

export type RefMethods = Pick<BlobStore, 'link' | 'isLinked' | 'putTag' | 'getTag' | 'deleteTag' | 'tags'>;

async function* tagEntries(db: IndexDb): AsyncGenerator<TagEntry> {
  for await (const [key, value] of db.iterator(TAG_RANGE)) {
    const names = parseTagKey(key);
    const record = decodeTag(value);
    if (names !== undefined && record !== undefined) yield { ...names, record };
  }
}

export function refMethods(db: IndexDb): RefMethods {
  return {
    async link(upstream, repo, digest) {
      // Forward and reverse key in one atomic batch: delete() finds links through the reverse key.
      await db.batch([
        { type: 'put', key: linkKey(upstream, repo, digest), value: '' },
        { type: 'put', key: reverseLinkKey(digest, upstream, repo), value: '' },
      ]);
    },
    isLinked: async (upstream, repo, digest) => (await db.get(linkKey(upstream, repo, digest))) !== undefined,
    putTag: (upstream, repo, tag, rec) => db.put(tagKey(upstream, repo, tag), JSON.stringify(rec)),
    async getTag(upstream, repo, tag) {
      const value = await db.get(tagKey(upstream, repo, tag));
      return value === undefined ? undefined : decodeTag(value);
    },
    deleteTag: (upstream, repo, tag) => db.del(tagKey(upstream, repo, tag)),
    tags: () => tagEntries(db),
  };
}
