/**
 * A pull ends as soon as the blob's digest verifies; the commit (fsync, rename, index entry)
 * follows, and until it is done the fill can still be joined. A client joining in that window —
 * after the rename, before the index entry — must get the blob from its final path. The commit
 * is held open here (the real commit runs, its result waits for the test), so the window is
 * not a race.
 */
import { describe, expect, it } from 'vitest';
import { pushBlob } from '@regcache/testkit';
import type { BlobMeta } from '@regcache/blob-store';
import { expectStored, useCache } from './helpers.js';
import { getBlob, looksComplete, randomBlob } from './fill-helpers.js';
import { served } from './images.js';

describe('joining a fill between its last byte and its commit', () => {
  const fixture = useCache();

  it('serves the joining client from the final path, with no second upstream fetch', async () => {
    const { upstream, cache } = fixture();
    const blob = randomBlob(3 * 1024 * 1024);
    await pushBlob(upstream, 'commit/blobs', blob.bytes);
    const url = `${cache.url}/v2/commit/blobs/blobs/${blob.digest}`;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let renamed: () => void = () => undefined;
    const committedOnDisk = new Promise<void>((resolve) => (renamed = resolve));
    const store = cache.cache.store;
    const beginWrite = store.beginWrite;
    store.beginWrite = async (digest, opts) => {
      const writer = await beginWrite(digest, opts);
      const commit = writer.commit;
      return Object.assign(writer, {
        commit: async (): Promise<BlobMeta> => {
          const meta = await commit();
          renamed();
          await gate;
          return meta;
        },
      });
    };
    try {
      const first = await getBlob(url);
      expect(looksComplete(first) && first.digest).toBe(blob.digest);
      await committedOnDisk;
      // Renamed and indexed underneath, but the fill has not settled: this client joins it.
      const second = await getBlob(url);
      expect(looksComplete(second) && second.digest).toBe(blob.digest);
      expect(second.cache).toBe('coalesced');
    } finally {
      release();
      store.beginWrite = beginWrite;
    }
    await expectStored(cache, blob.digest);
    await upstream.settle();
    expect(served(upstream, 'GET', `/v2/commit/blobs/blobs/${blob.digest}`)).toBe(1);
  }, 30_000);
});
