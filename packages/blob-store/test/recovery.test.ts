import { mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobPath, createBlobStore, tempDir } from '../src/index.js';
import { blob, useFixtures } from './helpers.js';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Puts a file at a blob location without indexing it (a crash between rename and index put). */
async function plant(root: string, digest: Parameters<typeof blobPath>[1], bytes: Uint8Array): Promise<string> {
  const path = blobPath(root, digest);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return path;
}

describe('recovery at start', () => {
  const fx = useFixtures();

  it('removes temp files, drops entries without files, indexes good strays and deletes bad ones', async () => {
    const root = await fx.root();
    const kept = blob(64);
    const lost = blob(65);
    const store = await fx.open({ root });
    await store.putBytes(kept.digest, kept.bytes);
    await store.putBytes(lost.digest, lost.bytes, { mediaType: 'x/y' });
    await store.link('docker.io', 'library/alpine', lost.digest);
    await store.close();

    const crashed = await createBlobStore({ root, recover: false });
    const half = await crashed.beginWrite(blob(10).digest);
    await half.write(Buffer.alloc(5));
    await crashed.close(); // the writer is never committed: as if the process died
    await writeFile(join(tempDir(root), 'other.part'), 'junk');
    await rm(blobPath(root, lost.digest));
    const good = blob(70);
    const bad = blob(71);
    await plant(root, good.digest, good.bytes);
    const badPath = await plant(root, bad.digest, Buffer.alloc(71));
    const strayPath = join(root, 'blobs', 'sha256', 'zz-not-a-prefix');
    await writeFile(strayPath, 'x');

    const recovered = await fx.open({ root });
    expect(await readdir(tempDir(root))).toEqual([]);
    expect(await recovered.stat(lost.digest)).toBeUndefined();
    expect(await recovered.isLinked('docker.io', 'library/alpine', lost.digest)).toBe(false);
    expect(await recovered.stat(good.digest)).toMatchObject({ size: 70, hits: 0 });
    expect((await recovered.readBytes(good.digest)).equals(good.bytes)).toBe(true);
    expect(await recovered.stat(bad.digest)).toBeUndefined();
    expect(await exists(badPath)).toBe(false);
    expect(await exists(strayPath)).toBe(false);
    expect(await recovered.stat(kept.digest)).toMatchObject({ size: 64 });
    const report = await recovered.check({ rehash: true });
    expect(report).toMatchObject({ checked: 2, missingFiles: [], unindexedFiles: [], corrupt: [], tempFiles: 0 });
    await half.abort(); // closes the descriptor the "crashed" writer left open
  });

  it('leaves everything alone with recover: false', async () => {
    const root = await fx.root();
    await (await fx.open({ root })).close();
    await writeFile(join(tempDir(root), 'left.part'), 'junk');
    const store = await fx.open({ root, recover: false });
    expect(await readdir(tempDir(root))).toEqual(['left.part']);
    expect((await store.check()).tempFiles).toBe(1);
  });
});

describe('check()', () => {
  const fx = useFixtures();

  it('finds a flipped byte with rehash, and repair removes the blob', async () => {
    const root = await fx.root();
    const store = await fx.open({ root });
    const target = blob(4096);
    const fine = blob(4096);
    await store.putBytes(target.digest, target.bytes);
    await store.putBytes(fine.digest, fine.bytes);
    const handle = await open(store.path(target.digest), 'r+');
    await handle.write(Buffer.from([target.bytes[100]! ^ 0xff]), 0, 1, 100);
    await handle.close();

    expect((await store.check()).corrupt).toEqual([]); // without rehash only the layout is checked
    const found = await store.check({ rehash: true });
    expect(found).toMatchObject({ checked: 2, corrupt: [target.digest], repaired: false });
    expect(await exists(store.path(target.digest))).toBe(true);

    const repaired = await store.check({ rehash: true, repair: true });
    expect(repaired).toMatchObject({ corrupt: [target.digest], repaired: true });
    expect(await exists(store.path(target.digest))).toBe(false);
    expect(await store.stat(target.digest)).toBeUndefined();
    expect(await store.stat(fine.digest)).toBeDefined();
    expect(await store.check({ rehash: true })).toMatchObject({ checked: 1, corrupt: [], missingFiles: [], unindexedFiles: [] });
  });

  it('reports missing files, unindexed files and temp files, but spares writes in progress', async () => {
    const root = await fx.root();
    const store = await fx.open({ root });
    const gone = blob(10);
    await store.putBytes(gone.digest, gone.bytes);
    await rm(store.path(gone.digest));
    const stray = blob(11);
    const strayPath = await plant(root, stray.digest, stray.bytes);
    await writeFile(join(tempDir(root), 'dead.part'), 'x');
    const live = await store.beginWrite(blob(12).digest);

    const report = await store.check({ repair: true });
    expect(report).toMatchObject({ missingFiles: [gone.digest], unindexedFiles: [strayPath], tempFiles: 1, checked: 2 });
    expect(await readdir(tempDir(root))).toEqual([live.tempPath.split('/').pop()]);
    expect(await store.stat(gone.digest)).toBeUndefined();
    expect(await store.stat(stray.digest)).toMatchObject({ size: 11 });
    await live.abort();
  });

  it('samples a subset when asked', async () => {
    const store = await fx.open({ root: await fx.root() });
    for (let i = 0; i < 5; i++) {
      const b = blob(100 + i);
      await store.putBytes(b.digest, b.bytes);
    }
    const report = await store.check({ rehash: true, sample: 2 });
    expect(report.checked).toBe(5);
    expect(report.corrupt).toEqual([]);
  });
});
