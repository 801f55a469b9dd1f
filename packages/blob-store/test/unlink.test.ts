/**
 * unlink drops one repository's link — forward and reverse key, memory and disk — and nothing
 * else: the blob, other repositories' links to it, and the repository's other links stay; a
 * later delete of the blob still finds the links that remain.
 */
import { describe, expect, it } from 'vitest';
import { all, blob, useFixtures } from './helpers.js';

describe('unlink', () => {
  const fx = useFixtures();

  it('drops one link and keeps the blob and every other link, across a reopen', async () => {
    const root = await fx.root();
    const store = await fx.open({ root });
    const { bytes, digest } = blob(1024);
    const other = blob(512);
    await store.putBytes(digest, bytes);
    await store.link('docker.io', 'team/api', digest);
    await store.link('docker.io', 'team/api', other.digest); // not stored: unlink works on it too
    await store.link('ghcr.io', 'team/api', digest);
    expect(await store.isLinked('docker.io', 'team/api', digest)).toBe(true); // in memory now

    await store.unlink('docker.io', 'team/api', digest);
    await store.unlink('docker.io', 'team/api', other.digest);
    expect(await store.isLinked('docker.io', 'team/api', digest)).toBe(false);
    expect(await store.isLinked('ghcr.io', 'team/api', digest)).toBe(true);
    expect(await store.stat(digest)).toMatchObject({ digest, size: 1024 });
    expect(await all(store.links())).toEqual([{ upstream: 'ghcr.io', repo: 'team/api', digest }]);

    await store.close();
    const reopened = await fx.open({ root });
    expect(await reopened.isLinked('docker.io', 'team/api', digest)).toBe(false);
    expect(await reopened.delete(digest)).toBe(true);
    expect(await all(reopened.links())).toEqual([]);
  });
});
