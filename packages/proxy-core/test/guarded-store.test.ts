/**
 * The use guard gc and eviction go through, on a real blob store: a blob being read, or
 * looked up and about to be read, or just committed, is not removed; a lookup racing a
 * removal waits and then sees the blob gone, never a blob whose read then fails.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createBlobStore, type BlobStore } from '@regcache/blob-store';
import type { Digest } from '@regcache/registry-protocol';
import { tempDir } from '@regcache/testkit';
import { guardStore, type GuardedStore } from '../src/guarded-store.js';

const opened: BlobStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function fixture(opts: { lookPinMs?: number; commitPinMs?: number } = {}): Promise<{ store: GuardedStore; digest: Digest; bytes: Buffer }> {
  const inner = await createBlobStore({ root: await tempDir('guard') });
  opened.push(inner);
  const store = guardStore(inner, { commitPinMs: 0, ...opts });
  const bytes = randomBytes(64 * 1024);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
  await store.putBytes(digest, bytes);
  return { store, digest, bytes };
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('guardStore', () => {
  it('keeps a blob while a read stream is open, and lets it go after', async () => {
    const { store, digest, bytes } = await fixture();
    const stream = store.createReadStream(digest);
    expect(await store.usage.removeUnlessInUse(digest)).toBe('in-use');
    expect(await readAll(stream)).toEqual(bytes);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await store.usage.removeUnlessInUse(digest)).toBe('removed');
    expect(await store.stat(digest)).toBeUndefined();
  });

  it('keeps a blob between a stat and its read; the pin lapses if no read follows', async () => {
    const { store, digest } = await fixture({ lookPinMs: 200 });
    expect(await store.stat(digest)).toBeDefined();
    expect(store.usage.inUse(digest)).toBe(true);
    expect(await store.usage.removeUnlessInUse(digest)).toBe('in-use');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await store.usage.removeUnlessInUse(digest)).toBe('removed');
  });

  it('a read consumes its stat pin; peek pins nothing', async () => {
    const { store, digest } = await fixture();
    await store.peek(digest);
    expect(store.usage.inUse(digest)).toBe(false);
    await store.stat(digest);
    await store.readBytes(digest);
    expect(store.usage.inUse(digest)).toBe(false);
  });

  it('a read right after a commit leaves no pin behind once the commit pin lapses', async () => {
    const { store } = await fixture({ commitPinMs: 100 });
    const bytes = randomBytes(1000);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    await store.putBytes(digest, bytes);
    await store.stat(digest);
    await readAll(store.createReadStream(digest));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(store.usage.inUse(digest)).toBe(false);
  });

  it('a stat that arrives during a removal waits for it and sees the blob gone', async () => {
    const { store, digest } = await fixture();
    const removal = store.usage.removeUnlessInUse(digest);
    const looked = store.stat(digest);
    expect(await removal).toBe('removed');
    expect(await looked).toBeUndefined();
    expect(store.usage.inUse(digest)).toBe(false);
  });

  it('pins a just-committed blob and tells its listeners', async () => {
    const { store } = await fixture({ commitPinMs: 60_000 });
    const seen: number[] = [];
    store.onCommit((meta) => seen.push(meta.size));
    const bytes = randomBytes(1000);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    const writer = await store.beginWrite(digest, { expectedSize: bytes.length });
    await writer.write(bytes);
    expect(writer.written).toBe(1000);
    await writer.commit();
    expect(seen).toEqual([1000]);
    expect(await store.usage.removeUnlessInUse(digest)).toBe('in-use');
  });
});
