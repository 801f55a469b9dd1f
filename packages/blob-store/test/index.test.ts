import { describe, expect, it } from 'vitest';
import { all, blob, useFixtures } from './helpers.js';
import type { TagRecord } from '../src/index.js';

describe('links, tags and iteration', () => {
  const fx = useFixtures();

  it('keeps links per upstream and repository', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { digest } = blob(5);
    await store.link('docker.io', 'library/alpine', digest);
    expect(await store.isLinked('docker.io', 'library/alpine', digest)).toBe(true);
    expect(await store.isLinked('ghcr.io', 'library/alpine', digest)).toBe(false);
    expect(await store.isLinked('docker.io', 'library/alpin', digest)).toBe(false);
    expect(await store.isLinked('docker.io', 'library/alpine', blob(5).digest)).toBe(false);
  });

  it('keeps tags per upstream and repository, and deletes them', async () => {
    const store = await fx.open({ root: await fx.root() });
    const hub: TagRecord = { digest: blob(5).digest, mediaType: 'application/vnd.oci.image.index.v1+json', size: 5, fetchedAt: 1000 };
    const ghcr: TagRecord = { ...hub, digest: blob(6).digest, size: 6 };
    await store.putTag('docker.io', 'library/alpine', 'latest', hub);
    await store.putTag('ghcr.io', 'library/alpine', 'latest', ghcr);
    expect(await store.getTag('docker.io', 'library/alpine', 'latest')).toEqual(hub);
    expect(await store.getTag('ghcr.io', 'library/alpine', 'latest')).toEqual(ghcr);
    expect(await store.getTag('docker.io', 'library/alpine', '3.20')).toBeUndefined();
    const listed = await all(store.tags());
    expect(listed).toHaveLength(2);
    expect(listed).toContainEqual({ upstream: 'ghcr.io', repo: 'library/alpine', tag: 'latest', record: ghcr });
    await store.deleteTag('docker.io', 'library/alpine', 'latest');
    expect(await store.getTag('docker.io', 'library/alpine', 'latest')).toBeUndefined();
    expect(await store.getTag('ghcr.io', 'library/alpine', 'latest')).toEqual(ghcr);
  });

  it('refuses names that would break the key layout', async () => {
    const store = await fx.open({ root: await fx.root() });
    await expect(store.link('docker.io', 'a\x00b', blob(1).digest)).rejects.toBeInstanceOf(TypeError);
    await expect(store.getTag('', 'repo', 'tag')).rejects.toBeInstanceOf(TypeError);
  });

  it('lists every blob with its metadata', async () => {
    const store = await fx.open({ root: await fx.root() });
    const blobs = [blob(1), blob(2), blob(3)];
    for (const b of blobs) await store.putBytes(b.digest, b.bytes);
    const listed = await all(store.blobs());
    expect(listed.map((m) => m.digest).sort()).toEqual(blobs.map((b) => b.digest).sort());
    expect(listed.map((m) => m.size).sort()).toEqual([1, 2, 3]);
  });
});
