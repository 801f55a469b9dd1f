import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BlobNotFoundError } from '../src/index.js';
import { all, blob, useFixtures } from './helpers.js';

describe('delete', () => {
  const fx = useFixtures();

  it('lets a read stream opened before the delete complete', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(4 * 1024 * 1024 + 3);
    await store.putBytes(digest, bytes);
    const chunks = store.createReadStream(digest)[Symbol.asyncIterator]();
    const hash = createHash('sha256');
    let total = 0;
    let next = await chunks.next(); // the file is open and the first MiB read
    expect(await store.delete(digest)).toBe(true);
    await expect(stat(store.path(digest))).rejects.toMatchObject({ code: 'ENOENT' });
    for (; next.done !== true; next = await chunks.next()) {
      hash.update(next.value as Buffer);
      total += (next.value as Buffer).length;
    }
    expect(total).toBe(bytes.length);
    expect(`sha256:${hash.digest('hex')}`).toBe(digest);
  });

  it('removes the index entry and the links; new reads fail; deleting again is false', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(10);
    const other = blob(11);
    await store.putBytes(digest, bytes);
    await store.putBytes(other.digest, other.bytes);
    await store.link('docker.io', 'library/alpine', digest);
    await store.link('ghcr.io', 'owner/app', digest);
    await store.link('docker.io', 'library/alpine', other.digest);
    expect(await store.delete(digest)).toBe(true);
    expect(await store.stat(digest)).toBeUndefined();
    expect(await store.isLinked('docker.io', 'library/alpine', digest)).toBe(false);
    expect(await store.isLinked('ghcr.io', 'owner/app', digest)).toBe(false);
    expect(await store.isLinked('docker.io', 'library/alpine', other.digest)).toBe(true);
    await expect(store.readBytes(digest)).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.delete(digest)).toBe(false);
    expect((await all(store.blobs())).map((m) => m.digest)).toEqual([other.digest]);
  });

  it('drops pending hits of a deleted blob (a flush does not resurrect it)', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(10);
    await store.putBytes(digest, bytes);
    store.touch(digest);
    await store.delete(digest);
    store.touch(digest);
    await store.flush();
    expect(await store.stat(digest)).toBeUndefined();
  });

  it('never leaves a file without an entry (or the reverse) when commit and delete race', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(64 * 1024);
    for (let round = 0; round < 20; round++) {
      const writer = await store.beginWrite(digest);
      await writer.write(bytes);
      const [committed] = await Promise.allSettled([writer.commit(), store.delete(digest)]);
      expect(committed.status).toBe('fulfilled');
      const indexed = (await store.stat(digest)) !== undefined;
      const onDisk = await stat(store.path(digest)).then(() => true, () => false);
      expect(onDisk).toBe(indexed);
    }
    expect(await store.check()).toMatchObject({ missingFiles: [], unindexedFiles: [], tempFiles: 0 });
  });
});
