import { fstatSync, readSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BlobNotFoundError, type BlobStore, type OpenBlob } from '../src/index.js';
import { createOpenFiles } from '../src/open-files.js';
import { blob, useFixtures } from './helpers.js';

function read(open: OpenBlob): Buffer {
  const buffer = Buffer.alloc(open.size);
  readSync(open.fd, buffer, 0, open.size, 0);
  return buffer;
}

/** The inode a descriptor names now, or undefined once it is closed. */
function inodeOf(fd: number): number | undefined {
  try {
    return fstatSync(fd).ino;
  } catch {
    return undefined;
  }
}

async function storeWith(fx: ReturnType<typeof useFixtures>, count: number): Promise<{ store: BlobStore; blobs: ReturnType<typeof blob>[] }> {
  const store = await fx.open({ root: await fx.root() });
  const blobs = Array.from({ length: count }, () => blob(4096));
  for (const b of blobs) await store.putBytes(b.digest, b.bytes);
  return { store, blobs };
}

describe('open files of committed blobs', () => {
  const fx = useFixtures();

  it('keeps a hot blob open between reads: the next openBlob lends the same descriptor', async () => {
    const { store, blobs } = await storeWith(fx, 1);
    const [b] = blobs as [ReturnType<typeof blob>];
    const first = await store.openBlob(b.digest);
    expect(read(first)).toEqual(b.bytes);
    await first.close();
    const second = await store.openBlob(b.digest);
    expect(second.fd).toBe(first.fd);
    expect(second.size).toBe(b.bytes.length);
    expect(read(second)).toEqual(b.bytes);
    await second.close();
  });

  it('shares one open between concurrent readers of a digest', async () => {
    const { store, blobs } = await storeWith(fx, 1);
    const [b] = blobs as [ReturnType<typeof blob>];
    const [x, y] = await Promise.all([store.openBlob(b.digest), store.openBlob(b.digest)]);
    expect(y.fd).toBe(x.fd);
    await Promise.all([x.close(), y.close()]);
  });

  it('on delete, a held descriptor still reads the blob and is closed at its release; no new open succeeds', async () => {
    const { store, blobs } = await storeWith(fx, 1);
    const [b] = blobs as [ReturnType<typeof blob>];
    const held = await store.openBlob(b.digest);
    const inode = inodeOf(held.fd);
    expect(await store.delete(b.digest)).toBe(true);
    expect(read(held)).toEqual(b.bytes);
    expect(inodeOf(held.fd)).toBe(inode);
    await held.close();
    // Closed (or, at most, its number reused for another file): the deleted inode is let go.
    expect(inodeOf(held.fd)).not.toBe(inode);
    await expect(store.openBlob(b.digest)).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('closes an unheld descriptor of a deleted blob at once', async () => {
    const { store, blobs } = await storeWith(fx, 1);
    const [b] = blobs as [ReturnType<typeof blob>];
    const open = await store.openBlob(b.digest);
    const inode = inodeOf(open.fd);
    await open.close();
    expect(inodeOf(open.fd)).toBe(inode); // still cached
    await store.delete(b.digest);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(inodeOf(open.fd)).not.toBe(inode);
  });

  it('is bounded: past its size the least recently used unheld descriptors close, held ones stay', async () => {
    const { store, blobs } = await storeWith(fx, 4);
    const [a, b, c, d] = blobs as [ReturnType<typeof blob>, ReturnType<typeof blob>, ReturnType<typeof blob>, ReturnType<typeof blob>];
    const files = createOpenFiles(2);
    const held = await files.acquire(a.digest, store.path(a.digest));
    const heldInode = inodeOf(held.fd);
    const opened: Array<{ fd: number; inode: number | undefined }> = [];
    for (const x of [b, c, d]) {
      const open = await files.acquire(x.digest, store.path(x.digest));
      opened.push({ fd: open.fd, inode: inodeOf(open.fd) });
      await open.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(files.size()).toBe(2);
    expect(inodeOf(held.fd)).toBe(heldInode);
    expect(read(held)).toEqual(a.bytes);
    // b and c were the least recently used unheld: closed; d, the newest, is still open.
    expect(inodeOf(opened[0]?.fd ?? -1)).not.toBe(opened[0]?.inode);
    expect(inodeOf(opened[1]?.fd ?? -1)).not.toBe(opened[1]?.inode);
    expect(inodeOf(opened[2]?.fd ?? -1)).toBe(opened[2]?.inode);
    await held.close();
    files.clear();
  });

  it('does not cache a descriptor that was being opened when its blob was forgotten', async () => {
    const { store, blobs } = await storeWith(fx, 1);
    const [b] = blobs as [ReturnType<typeof blob>];
    const files = createOpenFiles();
    const pending = files.acquire(b.digest, store.path(b.digest));
    files.forget(b.digest);
    const open = await pending;
    const inode = inodeOf(open.fd);
    expect(read(open)).toEqual(b.bytes);
    await open.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(files.size()).toBe(0);
    expect(inodeOf(open.fd)).not.toBe(inode);
  });
});
