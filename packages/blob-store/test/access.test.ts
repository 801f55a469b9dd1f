import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { all, blob, useFixtures } from './helpers.js';

describe('batched access times, hits and counters', () => {
  const fx = useFixtures();
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function spyOnWrites(): () => number {
    const put = vi.spyOn(ClassicLevel.prototype, 'put');
    const batch = vi.spyOn(ClassicLevel.prototype, 'batch');
    const del = vi.spyOn(ClassicLevel.prototype, 'del');
    return () => put.mock.calls.length + batch.mock.calls.length + del.mock.calls.length;
  }

  it('counts hits in memory, visible to stat, with no LevelDB write per touch', async () => {
    const store = await fx.open({ root: await fx.root(), accessFlushIntervalMs: 60_000 });
    const { bytes, digest } = blob(10);
    const created = await store.putBytes(digest, bytes);
    const writes = spyOnWrites();
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 1000; i++) store.touch(digest);
    store.addCounters({ hits: 1000, misses: 2 });
    const meta = await store.stat(digest);
    expect(meta?.hits).toBe(1000);
    expect(meta?.lastAccess).toBeGreaterThan(created.lastAccess);
    expect((await all(store.blobs()))[0]?.hits).toBe(1000);
    expect(await store.counters()).toEqual({ hits: 1000, misses: 2 });
    expect(writes()).toBe(0);
    await store.flush();
    expect(writes()).toBe(1);
    expect((await store.stat(digest))?.hits).toBe(1000);
    await store.flush();
    expect(writes()).toBe(1);
  });

  it('persists hits and counters on close, and reopens with them', async () => {
    const root = await fx.root();
    const store = await fx.open({ root, accessFlushIntervalMs: 60_000 });
    const { bytes, digest } = blob(10);
    await store.putBytes(digest, bytes);
    store.touch(digest);
    store.touch(digest);
    store.addCounters({ pulls: 3 });
    await store.close();
    await store.close();
    const reopened = await fx.open({ root });
    expect((await reopened.stat(digest))?.hits).toBe(2);
    reopened.addCounters({ pulls: 2, bytes: 10 });
    await reopened.flush();
    reopened.addCounters({ pulls: 1 });
    expect(await reopened.counters()).toEqual({ pulls: 6, bytes: 10 });
  });

  it('flushes on its interval', async () => {
    const store = await fx.open({ root: await fx.root(), accessFlushIntervalMs: 20 });
    const { bytes, digest } = blob(10);
    await store.putBytes(digest, bytes);
    const writes = spyOnWrites();
    store.touch(digest);
    await vi.waitFor(() => expect(writes()).toBe(1), { timeout: 2000 });
    expect((await store.stat(digest))?.hits).toBe(1);
  });

  it('keeps hits made while a flush is being written', async () => {
    const store = await fx.open({ root: await fx.root(), accessFlushIntervalMs: 60_000 });
    const { bytes, digest } = blob(10);
    await store.putBytes(digest, bytes);
    store.touch(digest);
    const flushing = store.flush();
    store.touch(digest);
    expect((await store.stat(digest))?.hits).toBe(2);
    await flushing;
    expect((await store.stat(digest))?.hits).toBe(2);
    await store.flush();
    expect((await store.stat(digest))?.hits).toBe(2);
  });
  it('counts every counter in a read that overlaps a flush (the batch being written is never missed)', async () => {
    const store = await fx.open({ root: await fx.root(), accessFlushIntervalMs: 60_000 });
    let added = 0;
    for (let round = 0; round < 200; round++) {
      store.addCounters({ pulls: 1 });
      added += 1;
      // A read begun before the batch is written and merged after it: it must still count the batch.
      const [read] = await Promise.all([store.counters(), store.flush()]);
      expect(read.pulls, `round ${round}`).toBe(added);
    }
  });
  it('counts every hit in a stat whose index read finished before a flush it overlapped was written', async () => {
    const store = await fx.open({ root: await fx.root(), accessFlushIntervalMs: 60_000 });
    const { bytes, digest } = blob(10);
    await store.putBytes(digest, bytes);
    // The stat's LevelDB read is held until the flush is written: the order that lost hits.
    let gate: Promise<unknown> | undefined;
    const get = ClassicLevel.prototype.get;
    vi.spyOn(ClassicLevel.prototype, 'get').mockImplementation(async function (this: ClassicLevel<string, string>, ...args: Parameters<typeof get>) {
      const value: unknown = await get.apply(this, args);
      if (gate !== undefined) await gate;
      return value as string;
    });
    store.touch(digest);
    const flushing = store.flush();
    store.touch(digest);
    gate = flushing;
    expect((await store.stat(digest))?.hits).toBe(2);
    gate = undefined;
    await flushing;
    expect((await store.stat(digest))?.hits).toBe(2);
  });

  it('counts, in a listing, the hits of a batch written while it was read', async () => {
    const store = await fx.open({ root: await fx.root(), accessFlushIntervalMs: 60_000 });
    const digests = [];
    for (let i = 0; i < 3; i++) {
      const { bytes, digest } = blob(10 + i);
      await store.putBytes(digest, bytes);
      digests.push(digest);
    }
    const listing = store.blobs()[Symbol.asyncIterator]();
    expect((await listing.next()).done).toBe(false);
    // Written between the listing's snapshot and its later entries: they must still count.
    for (const digest of digests) store.touch(digest);
    await store.flush();
    const rest = await all({ [Symbol.asyncIterator]: () => listing });
    expect(rest.map((meta) => meta.hits)).toEqual([1, 1]);
    expect((await all(store.blobs())).map((meta) => meta.hits)).toEqual([1, 1, 1]);
  });
  it('counts a batch once in a listing begun after its write and before its bookkeeping', async () => {
    const store = await fx.open({ root: await fx.root(), accessFlushIntervalMs: 60_000 });
    const { bytes, digest } = blob(10);
    await store.putBytes(digest, bytes);
    // The batch is in LevelDB, but the batcher has not heard so yet: it still holds it in flight.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    type Batch = (this: ClassicLevel<string, string>, ops: unknown) => Promise<void>;
    const batch = ClassicLevel.prototype.batch as unknown as Batch;
    const heldBatch: Batch = async function (ops) {
      await batch.call(this, ops);
      await held;
    };
    vi.spyOn(ClassicLevel.prototype, 'batch').mockImplementation(heldBatch as unknown as typeof ClassicLevel.prototype.batch);
    store.touch(digest);
    const flushing = store.flush();
    await vi.waitFor(() => expect(ClassicLevel.prototype.batch).toHaveBeenCalled());
    await new Promise((resolve) => setTimeout(resolve, 20));
    const listing = all(store.blobs());
    release();
    await flushing;
    expect((await listing).map((meta) => meta.hits)).toEqual([1]);
  });
});
