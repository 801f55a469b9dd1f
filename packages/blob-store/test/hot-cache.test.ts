/**
 * A hot hit reads no LevelDB: metadata, links, tags and small blobs' bytes are answered from
 * memory once known — and every write through the store keeps that memory current.
 */
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLru } from '../src/hot-cache.js';
import { blob, useFixtures } from './helpers.js';

describe('the hot cache over the index', () => {
  const fx = useFixtures();
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('answers repeated stat, isLinked, getTag and readBytes without a LevelDB read', async () => {
    const store = await fx.open({ root: await fx.root(), accessFlushIntervalMs: 60_000 });
    const { bytes, digest } = blob(2000);
    await store.putBytes(digest, bytes, { mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    await store.link('docker.io', 'library/alpine', digest);
    await store.putTag('docker.io', 'library/alpine', 'latest', { digest, mediaType: 'x', size: 2000, fetchedAt: 1 });
    const warm = async () => {
      expect((await store.stat(digest))?.size).toBe(2000);
      expect(await store.isLinked('docker.io', 'library/alpine', digest)).toBe(true);
      expect((await store.getTag('docker.io', 'library/alpine', 'latest'))?.digest).toBe(digest);
      expect(await store.readBytes(digest)).toEqual(bytes);
    };
    await warm();
    const get = vi.spyOn(ClassicLevel.prototype, 'get');
    const getMany = vi.spyOn(ClassicLevel.prototype, 'getMany');
    for (let i = 0; i < 100; i++) await warm();
    expect(get.mock.calls.length + getMany.mock.calls.length).toBe(0);
  });

  it('stays current through writes: hits, retags, deletes', async () => {
    const store = await fx.open({ root: await fx.root(), accessFlushIntervalMs: 60_000 });
    const one = blob(100);
    const two = blob(100);
    await store.putBytes(one.digest, one.bytes);
    await store.putTag('u', 'r', 't', { digest: one.digest, mediaType: 'x', size: 100, fetchedAt: 1 });
    await store.link('u', 'r', one.digest);
    expect((await store.getTag('u', 'r', 't'))?.digest).toBe(one.digest);
    store.touch(one.digest);
    await store.flush();
    store.touch(one.digest);
    expect((await store.stat(one.digest))?.hits).toBe(2);
    await store.putTag('u', 'r', 't', { digest: two.digest, mediaType: 'x', size: 100, fetchedAt: 2 });
    expect((await store.getTag('u', 'r', 't'))?.digest).toBe(two.digest);
    await store.deleteTag('u', 'r', 't');
    expect(await store.getTag('u', 'r', 't')).toBeUndefined();
    await store.readBytes(one.digest);
    await store.delete(one.digest);
    expect(await store.stat(one.digest)).toBeUndefined();
    expect(await store.isLinked('u', 'r', one.digest)).toBe(false);
    await expect(store.readBytes(one.digest)).rejects.toThrow();
  });

  it('evicts the least recently used entry first, by count and by weight', () => {
    const lru = createLru<string, Buffer>(3, (b) => b.length, 10);
    lru.set('a', Buffer.alloc(4));
    lru.set('b', Buffer.alloc(4));
    lru.get('a');
    lru.set('c', Buffer.alloc(4));
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBeDefined();
    expect(lru.get('c')).toBeDefined();
  });

  /** Holds the next LevelDB get, after it has read, until `release()`: a read that began before a write and lands after it. */
  function holdNextGet(): { release: () => void } {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    vi.restoreAllMocks();
    const get = ClassicLevel.prototype.get;
    let armed = true;
    vi.spyOn(ClassicLevel.prototype, 'get').mockImplementation(async function (this: ClassicLevel<string, string>, ...args: Parameters<typeof get>) {
      const hold = armed;
      armed = false;
      const value: unknown = await get.apply(this, args);
      if (hold) await gate;
      return value as string;
    });
    return { release };
  }

  /** A blob and two tags to it, written, then the store reopened: its hot cache is empty, every first read goes to LevelDB. */
  async function reopenedWithTags() {
    const root = await fx.root();
    const first = await fx.open({ root, accessFlushIntervalMs: 60_000 });
    const { bytes, digest } = blob(100);
    await first.putBytes(digest, bytes);
    const tag = { digest, mediaType: 'x', size: 100, fetchedAt: 1 };
    await first.putTag('u', 'r', 't', tag);
    await first.putTag('u', 'r', 'gone', tag);
    await first.close();
    return { store: await fx.open({ root, accessFlushIntervalMs: 60_000 }), bytes, digest, tag };
  }

  it('keeps no stale entry from a read that overlapped a write: a re-commit, a retag, a tag delete', async () => {
    const { store, bytes, digest, tag } = await reopenedWithTags();
    const recommit = holdNextGet();
    const stat = store.stat(digest);
    await store.putBytes(digest, bytes, { mediaType: 'application/vnd.oci.image.layer.v1.tar' });
    recommit.release();
    expect((await stat)?.mediaType).toBeUndefined();
    expect((await store.stat(digest))?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');

    const retag = holdNextGet();
    const before = store.getTag('u', 'r', 't');
    await store.putTag('u', 'r', 't', { ...tag, fetchedAt: 2 });
    retag.release();
    expect((await before)?.fetchedAt).toBe(1);
    expect((await store.getTag('u', 'r', 't'))?.fetchedAt).toBe(2);

    const untag = holdNextGet();
    const gone = store.getTag('u', 'r', 'gone');
    await store.deleteTag('u', 'r', 'gone');
    untag.release();
    expect((await gone)?.fetchedAt).toBe(1);
    expect(await store.getTag('u', 'r', 'gone')).toBeUndefined();
  });

  it('keeps no tag that a read put back between its delete from memory and from LevelDB', async () => {
    const { store } = await reopenedWithTags();
    // The read begins after the tag left memory and finishes before the delete's turn comes; its
    // LevelDB snapshot (most often) predates the delete: the delete clears memory again after its write.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const del = ClassicLevel.prototype.del;
    vi.spyOn(ClassicLevel.prototype, 'del').mockImplementation(async function (this: ClassicLevel<string, string>, ...args: Parameters<typeof del>) {
      await del.apply(this, args);
      await gate;
    });
    const deleting = store.deleteTag('u', 'r', 'gone');
    const during = await store.getTag('u', 'r', 'gone');
    release();
    await deleting;
    expect(during === undefined || during.fetchedAt === 1).toBe(true);
    expect(await store.getTag('u', 'r', 'gone')).toBeUndefined();
  });
});
