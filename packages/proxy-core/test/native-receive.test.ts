/**
 * A fill from a plain-http upstream is received off the JavaScript thread (fill/native-receive.ts):
 * while it runs, the process has a thread named regcache-fill; the client following it gets the
 * exact bytes as they arrive, before the fill ends; the thread is gone afterwards and the blob
 * is committed. A body that came whole with its head stays on the stream path (no thread). No
 * more than RECEIVE_LOOPS loops run at once: the fills past them take the stream path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushBlob, startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry } from '@regcache/testkit';
import type { Digest } from '@regcache/registry-protocol';
import { RECEIVE_LOOPS } from '../src/fill/engine.js';
import { startCache, type RunningCache } from './helpers.js';
import { fillThreads, getBlob, randomBlob } from './fill-helpers.js';

const KiB = 1024;

describe('the native receive loop in a fill', () => {
  let upstream: RunningRegistry;
  let proxy: FaultProxy;
  let cache: RunningCache;

  beforeAll(async () => {
    upstream = await startRegistry();
    proxy = await startFaultProxy(upstream.url);
    cache = await startCache({ upstreams: [{ name: 'docker.io', url: proxy.url }], fill: { prefetch: 0 } });
  }, 60_000);

  afterAll(async () => {
    await cache?.close();
    await proxy?.stop();
    await upstream?.stop();
  });

  it('receives a trickled blob on a regcache-fill thread; the client has bytes before the fill ends; the thread ends with it', async () => {
    const blob = randomBlob(600 * KiB);
    await pushBlob(upstream, 'native/trickle', blob.bytes);
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 400 * KiB }, { times: 1 });
    let sawThread = false;
    const watch = setInterval(() => void fillThreads().then((n) => (sawThread ||= n > 0)), 20);
    const received = await getBlob(`${cache.url}/v2/native/trickle/blobs/${blob.digest}`).finally(() => clearInterval(watch));
    expect(received.digest).toBe(blob.digest);
    expect(received.bytes).toBe(blob.bytes.length);
    expect(sawThread).toBe(true);
    // ≈ 1.5 s of trickle: the progress reports let the client start long before the end.
    expect(received.firstByteMs).toBeLessThan(received.endMs - 500);
    await expect.poll(fillThreads, { timeout: 5000 }).toBe(0);
    await expect.poll(async () => (await cache.cache.store.stat(blob.digest as Digest))?.size, { timeout: 5000 }).toBe(blob.bytes.length);
  });

  it(`runs at most ${RECEIVE_LOOPS} loops at once; the fills past them stream, and every blob is stored whole`, async () => {
    const blobs = Array.from({ length: RECEIVE_LOOPS + 3 }, () => randomBlob(300 * KiB));
    for (const [i, blob] of blobs.entries()) await pushBlob(upstream, `native/many${i}`, blob.bytes);
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 400 * KiB }, { times: blobs.length });
    let most = 0;
    const watch = setInterval(() => void fillThreads().then((n) => (most = Math.max(most, n))), 20);
    const received = await Promise.all(blobs.map((blob, i) => getBlob(`${cache.url}/v2/native/many${i}/blobs/${blob.digest}`))).finally(() => clearInterval(watch));
    expect(received.map((r) => r.digest)).toEqual(blobs.map((b) => b.digest));
    expect(most).toBe(RECEIVE_LOOPS);
    await expect.poll(fillThreads, { timeout: 5000 }).toBe(0);
    for (const blob of blobs) await expect.poll(async () => (await cache.cache.store.stat(blob.digest as Digest))?.size, { timeout: 5000 }).toBe(blob.bytes.length);
  });

  it('fills one after another on one kept-alive upstream connection, received natively or not', async () => {
    const blobs = [randomBlob(900 * KiB), randomBlob(KiB), randomBlob(700 * KiB), randomBlob(2 * KiB)];
    for (const [i, blob] of blobs.entries()) await pushBlob(upstream, `native/kept${i}`, blob.bytes);
    const before = proxy.requests().length;
    for (const [i, blob] of blobs.entries()) {
      const received = await getBlob(`${cache.url}/v2/native/kept${i}/blobs/${blob.digest}`);
      expect(received.digest).toBe(blob.digest);
      // The fill is committed before the next one starts (its connection is back by then).
      await expect.poll(async () => (await cache.cache.store.stat(blob.digest as Digest))?.size, { timeout: 5000 }).toBe(blob.bytes.length);
    }
    const fills = proxy.requests().slice(before).filter((r) => r.method === 'GET' && r.url.includes('/blobs/'));
    expect(fills).toHaveLength(blobs.length);
    expect(new Set(fills.map((r) => r.connection)).size).toBe(1);
  });

  it('leaves a small blob that came with its head on the stream path', async () => {
    const blob = randomBlob(2 * KiB);
    await pushBlob(upstream, 'native/small', blob.bytes);
    const received = await getBlob(`${cache.url}/v2/native/small/blobs/${blob.digest}`);
    expect(received.digest).toBe(blob.digest);
    expect(await fillThreads()).toBe(0);
  });
});
