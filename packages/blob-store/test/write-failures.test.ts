import { open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobStoreError, DigestMismatchError, SizeMismatchError, tempDir } from '../src/index.js';
import { blob, collect, useFixtures } from './helpers.js';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('failed and concurrent writes', () => {
  const fx = useFixtures();

  it('makes tmp/ and blobs/ again when they were removed under the open store (a cache cleared by hand)', async () => {
    const store = await fx.open({ root: await fx.root() });
    const first = blob(1000);
    await store.putBytes(first.digest, first.bytes);
    await rm(tempDir(store.root), { recursive: true });
    await rm(join(store.root, 'blobs'), { recursive: true });
    const second = blob(2000);
    const writer = await store.beginWrite(second.digest, { expectedSize: 2000 });
    await writer.write(second.bytes);
    await writer.commit();
    expect(await store.stat(second.digest)).toMatchObject({ size: 2000 });
    expect(await collect(store.createReadStream(second.digest))).toEqual(second.bytes);
    expect(await readdir(tempDir(store.root))).toEqual([]);
  });

  it('rejects a digest mismatch: nothing indexed, no temp file, no blob file', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { digest } = blob(1000);
    const writer = await store.beginWrite(digest);
    await writer.write(Buffer.alloc(1000, 7));
    const error = await writer.commit().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect(error).toMatchObject({ expected: digest, code: 'DIGEST_MISMATCH' });
    expect(await store.stat(digest)).toBeUndefined();
    expect(await exists(writer.tempPath)).toBe(false);
    expect(await exists(store.path(digest))).toBe(false);
    expect(await readdir(tempDir(store.root))).toEqual([]);
  });

  it('rejects as soon as the expected size is exceeded, before the end of the stream', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(100);
    const writer = await store.beginWrite(digest, { expectedSize: 100 });
    await writer.write(bytes.subarray(0, 60));
    const error = await writer.write(Buffer.alloc(41)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect(error).toMatchObject({ expected: 100, actual: 101 });
    expect(await exists(writer.tempPath)).toBe(false);
    await expect(writer.write(Buffer.alloc(1))).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(writer.commit()).rejects.toBeInstanceOf(SizeMismatchError);
    await writer.abort();
    expect(await store.stat(digest)).toBeUndefined();
  });

  it('rejects a truncated body at commit', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(100);
    const writer = await store.beginWrite(digest, { expectedSize: 100 });
    await writer.write(bytes.subarray(0, 99));
    await expect(writer.commit()).rejects.toMatchObject({ code: 'SIZE_MISMATCH', expected: 100, actual: 99 });
    expect(await exists(store.path(digest))).toBe(false);
    expect(await readdir(tempDir(store.root))).toEqual([]);
  });

  it('detects truncation by digest when no size was announced', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(100);
    const writer = await store.beginWrite(digest);
    await writer.write(bytes.subarray(0, 50));
    await expect(writer.commit()).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('aborts: temp removed, idempotent, later writes refused; abort after commit is a no-op', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(100);
    const writer = await store.beginWrite(digest);
    await writer.write(bytes.subarray(0, 10));
    await writer.abort();
    await writer.abort();
    expect(await exists(writer.tempPath)).toBe(false);
    await expect(writer.write(bytes)).rejects.toBeInstanceOf(BlobStoreError);
    await expect(writer.commit()).rejects.toMatchObject({ code: 'WRITER_CLOSED' });
    const second = await store.beginWrite(digest);
    await second.write(bytes);
    await second.commit();
    await second.abort();
    expect(await store.stat(digest)).toMatchObject({ size: 100 });
  });

  it('lets concurrent writers of one digest both commit the same verified file', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(512 * 1024);
    const writers = await Promise.all([1, 2, 3].map(() => store.beginWrite(digest, { expectedSize: bytes.length })));
    expect(new Set(writers.map((w) => w.tempPath)).size).toBe(3);
    for (let off = 0; off < bytes.length; off += 64 * 1024) {
      await Promise.all(writers.map((w) => w.write(bytes.subarray(off, off + 64 * 1024))));
    }
    const bad = await store.beginWrite(digest);
    await bad.write(Buffer.alloc(10));
    const results = await Promise.allSettled([...writers.map((w) => w.commit()), bad.commit()]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect((await store.readBytes(digest)).equals(bytes)).toBe(true);
    expect(await readdir(tempDir(store.root))).toEqual([]);
    expect((await store.check()).missingFiles).toEqual([]);
  });

  it('lets readers of the growing temp file see bytes as they are written', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(300);
    const writer = await store.beginWrite(digest, { expectedSize: 300 });
    const reader = await open(writer.tempPath, 'r');
    try {
      const buf = Buffer.alloc(300);
      for (const end of [100, 200, 300]) {
        const before = writer.written;
        await writer.write(bytes.subarray(before, end));
        expect(writer.written).toBe(end);
        const { bytesRead } = await reader.read(buf, before, end - before, before);
        expect(bytesRead).toBe(end - before);
        expect(buf.subarray(0, end)).toEqual(bytes.subarray(0, end));
      }
      await writer.commit();
      // The descriptor opened on the temp file still reads the (now renamed) blob.
      const { bytesRead } = await reader.read(buf, 0, 300, 0);
      expect(bytesRead).toBe(300);
    } finally {
      await reader.close();
    }
  });

  it('refuses an invalid expected size', async () => {
    const store = await fx.open({ root: await fx.root() });
    await expect(store.beginWrite(blob(1).digest, { expectedSize: -1 })).rejects.toBeInstanceOf(TypeError);
  });
});
