import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BlobNotFoundError, tempDir } from '../src/index.js';
import { blob, collect, digestOf, useFixtures } from './helpers.js';

describe('write, commit, stat, read', () => {
  const fx = useFixtures();

  it('round-trips a streamed blob and indexes it only at commit', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(3 * 1024 * 1024 + 17);
    const writer = await store.beginWrite(digest, { expectedSize: bytes.length, mediaType: 'application/octet-stream' });
    for (let off = 0; off < bytes.length; off += 256 * 1024) await writer.write(bytes.subarray(off, off + 256 * 1024));
    expect(writer.written).toBe(bytes.length);
    expect(await store.stat(digest)).toBeUndefined();
    const meta = await writer.commit();
    expect(meta).toMatchObject({ digest, size: bytes.length, mediaType: 'application/octet-stream', hits: 0 });
    expect(await store.stat(digest)).toEqual(meta);
    expect((await readFile(store.path(digest))).equals(bytes)).toBe(true);
    expect((await collect(store.createReadStream(digest))).equals(bytes)).toBe(true);
    expect(await readdir(tempDir(store.root))).toEqual([]);
  });

  it('writes and reads small blobs with putBytes/readBytes', async () => {
    const store = await fx.open({ root: await fx.root() });
    const bytes = Buffer.from('{"schemaVersion":2}');
    const digest = digestOf(bytes, 'sha512');
    const meta = await store.putBytes(digest, bytes, { mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    expect(meta.size).toBe(bytes.length);
    expect(await store.readBytes(digest)).toEqual(bytes);
  });

  it('keeps createdAt, hits and media type when the same digest is written again', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(100);
    const first = await store.putBytes(digest, bytes, { mediaType: 'a/b' });
    store.touch(digest);
    await store.flush();
    const second = await store.putBytes(digest, bytes);
    expect(second).toMatchObject({ createdAt: first.createdAt, hits: 1, mediaType: 'a/b' });
  });

  it('serves inclusive byte ranges', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(2 * 1024 * 1024 + 5);
    await store.putBytes(digest, bytes);
    const cases = [
      { start: 0, end: 0 },
      { start: 10, end: 19 },
      { start: 1024 * 1024 - 3, end: 1024 * 1024 + 3 },
      { start: bytes.length - 1, end: bytes.length - 1 },
      { start: 5, end: bytes.length - 1 },
    ];
    for (const range of cases) {
      const got = await collect(store.createReadStream(digest, range));
      expect(got.equals(bytes.subarray(range.start, range.end + 1))).toBe(true);
    }
    expect(await collect(store.createReadStream(digest, { start: bytes.length - 2, end: bytes.length + 100 }))).toHaveLength(2);
    expect(() => store.createReadStream(digest, { start: 5, end: 4 })).toThrow(RangeError);
  });

  it('reads with the store read size (READ_HIGH_WATER_MARK, 2 MiB) as high-water mark', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(10);
    await store.putBytes(digest, bytes);
    const stream = store.createReadStream(digest);
    expect(stream.readableHighWaterMark).toBe(2 * 1024 * 1024);
    await collect(stream);
  });

  it('reports a missing blob as BlobNotFoundError', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { digest } = blob(10);
    await expect(collect(store.createReadStream(digest))).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.readBytes(digest)).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND', digest });
    expect(await store.stat(digest)).toBeUndefined();
  });

  it('stores an empty blob', async () => {
    const store = await fx.open({ root: await fx.root() });
    const empty = Buffer.alloc(0);
    const digest = digestOf(empty);
    expect((await store.putBytes(digest, empty)).size).toBe(0);
    expect(await collect(store.createReadStream(digest))).toHaveLength(0);
  });
});
