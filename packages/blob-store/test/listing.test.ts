/** Listing links (for gc and `ls`), and check()'s re-hash progress (for `verify`). */
import { describe, expect, it } from 'vitest';
import { all, blob, useFixtures } from './helpers.js';

describe('links()', () => {
  const fx = useFixtures();

  it('lists every repository link, and forgets a deleted blob’s links', async () => {
    const store = await fx.open({ root: await fx.root() });
    const a = blob(100);
    const b = blob(200);
    await store.putBytes(a.digest, a.bytes);
    await store.putBytes(b.digest, b.bytes);
    await store.link('docker.io', 'library/alpine', a.digest);
    await store.link('docker.io', 'library/alpine', b.digest);
    await store.link('ghcr.io:5000', 'owner/tool', a.digest);
    const links = await all(store.links());
    expect(links).toHaveLength(3);
    expect(links).toContainEqual({ upstream: 'ghcr.io:5000', repo: 'owner/tool', digest: a.digest });
    await store.delete(a.digest);
    expect(await all(store.links())).toEqual([{ upstream: 'docker.io', repo: 'library/alpine', digest: b.digest }]);
  });
});

describe('check({ rehash }) progress', () => {
  const fx = useFixtures();

  it('reports each re-hashed blob and the bytes read, and counts them in the report', async () => {
    const store = await fx.open({ root: await fx.root() });
    const blobs = [blob(1000), blob(2000), blob(3000)];
    for (const b of blobs) await store.putBytes(b.digest, b.bytes);
    const seen: Array<{ done: number; total: number; bytes: number }> = [];
    const report = await store.check({ rehash: true, onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => p.done)).toEqual([1, 2, 3]);
    expect(seen.every((p) => p.total === 3)).toBe(true);
    expect(seen.at(-1)?.bytes).toBe(6000);
    expect(report).toMatchObject({ rehashed: 3, rehashedBytes: 6000, corrupt: [] });
    const sampled = await store.check({ rehash: true, sample: 2 });
    expect(sampled.rehashed).toBe(2);
  });
});
