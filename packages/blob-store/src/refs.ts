/**
 * Repository links and cached tags — the index's per-upstream knowledge (key layout in
 * keys.ts). Blobs are shared by digest across upstreams; links and tags are not: a blob is
 * served to `upstream/repo` only once that repository is known to reference it, and
 * `docker.io/library/alpine:latest` and `ghcr.io/library/alpine:latest` are different tags.
 */
import type { HotCache } from './hot-cache.js';
import type { IndexDb } from './index-db.js';
import { decodeTag, LINK_RANGE, linkKey, parseLinkKey, parseTagKey, reverseLinkKey, tagKey, TAG_RANGE } from './keys.js';
import type { BlobStore, LinkEntry, TagEntry } from './types.js';

export type RefMethods = Pick<BlobStore, 'link' | 'isLinked' | 'unlink' | 'putTag' | 'getTag' | 'deleteTag' | 'tags' | 'links'>;

async function* tagEntries(db: IndexDb): AsyncGenerator<TagEntry> {
  for await (const [key, value] of db.iterator(TAG_RANGE)) {
    const names = parseTagKey(key);
    const record = decodeTag(value);
    if (names !== undefined && record !== undefined) yield { ...names, record };
  }
}

async function* linkEntries(db: IndexDb): AsyncGenerator<LinkEntry> {
  for await (const key of db.keys(LINK_RANGE)) {
    const link = parseLinkKey(key);
    if (link !== undefined) yield link;
  }
}

/** Links and tags, answered from the hot cache when it knows them (a hot hit reads no LevelDB). */
export function refMethods(db: IndexDb, hot: HotCache): RefMethods {
  return {
    async link(upstream, repo, digest) {
      const key = linkKey(upstream, repo, digest);
      if (hot.links.get(key)) return;
      // Forward and reverse key in one atomic batch: delete() finds links through the reverse key.
      await db.batch([
        { type: 'put', key, value: '' },
        { type: 'put', key: reverseLinkKey(digest, upstream, repo), value: '' },
      ]);
      hot.links.set(key, true);
    },
    async isLinked(upstream, repo, digest) {
      const key = linkKey(upstream, repo, digest);
      if (hot.links.get(key)) return true;
      const since = hot.stamp();
      const linked = (await db.get(key)) !== undefined;
      if (linked) hot.links.fill(key, true, since);
      return linked;
    },
    async unlink(upstream, repo, digest) {
      const key = linkKey(upstream, repo, digest);
      hot.links.delete(key);
      await db.batch([
        { type: 'del', key },
        { type: 'del', key: reverseLinkKey(digest, upstream, repo) },
      ]);
      // Again after the write, as deleteTag does: a read begun before it may have put the link back.
      hot.links.delete(key);
    },
    async putTag(upstream, repo, tag, rec) {
      const key = tagKey(upstream, repo, tag);
      await db.put(key, JSON.stringify(rec));
      hot.tags.set(key, rec);
    },
    async getTag(upstream, repo, tag) {
      const key = tagKey(upstream, repo, tag);
      const cached = hot.tags.get(key);
      if (cached !== undefined) return cached;
      const since = hot.stamp();
      const value = await db.get(key);
      const record = value === undefined ? undefined : decodeTag(value);
      if (record !== undefined) hot.tags.fill(key, record, since);
      return record;
    },
    async deleteTag(upstream, repo, tag) {
      const key = tagKey(upstream, repo, tag);
      hot.tags.delete(key);
      await db.del(key);
      // Again after the write: a read that began before it may have put the record back.
      hot.tags.delete(key);
    },
    tags: () => tagEntries(db),
    links: () => linkEntries(db),
  };
}
