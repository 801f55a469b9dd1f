/**
 * A fill whose clients all leave is bounded: past `fill.detachedMaxSize` it stops cleanly —
 * nothing stored, no temp file, the upstream connection closed — and the next pull starts over.
 * A stop on purpose (that one, or the server shutting down mid-fill) is not a failure: no
 * `fill failed` warning, no `fillFailures`, `result="stopped"` in the fill metric.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushBlob, startFaultProxy, startRegistry } from '@regcache/testkit';
import type { Digest } from '@regcache/registry-protocol';
import { startCache, useProxiedCache, type RunningCache } from './helpers.js';
import { getBlob, randomBlob } from './fill-helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';

/** What a cache said about its fills: not failed, stopped (with the reason logged). */
async function fillReport(cache: RunningCache): Promise<{ failures: number; failedMetric: number; stoppedMetric: number; failedLogs: number; stopReasons: unknown[] }> {
  const samples = parsePrometheusText(await cache.cache.metrics.render());
  return {
    failures: cache.cache.stats.snapshot().fillFailures ?? 0,
    failedMetric: valueOf(samples, 'regcache_fill_duration_seconds_count', { result: 'failed' }),
    stoppedMetric: valueOf(samples, 'regcache_fill_duration_seconds_count', { result: 'stopped' }),
    failedLogs: cache.logs.filter((l) => l.msg === 'fill failed').length,
    stopReasons: cache.logs.filter((l) => l.msg === 'fill stopped').map((l) => l.reason),
  };
}

const MiB = 1024 * 1024;

describe('a detached fill over the size limit', () => {
  const fx = useProxiedCache({ fill: { detachedMaxSize: '1MiB' } });

  it('stops when its last client leaves, keeps nothing, and the next pull fills again', async () => {
    const { upstream, proxy, cache } = fx();
    const blob = randomBlob(8 * MiB);
    await pushBlob(upstream, 'detached/big', blob.bytes);
    const url = `${cache.url}/v2/detached/big/blobs/${blob.digest}`;
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 4 * MiB });
    try {
      const partial = await getBlob(url, {}, { stopAfter: 64 * 1024 });
      expect(partial.bytes).toBeLessThan(8 * MiB);
      await expect.poll(() => readdir(join(cache.dataDir, 'tmp')), { timeout: 5000 }).toEqual([]);
      expect(await cache.cache.store.stat(blob.digest as Digest)).toBeUndefined();
      expect(await fillReport(cache)).toEqual({ failures: 0, failedMetric: 0, stoppedMetric: 1, failedLogs: 0, stopReasons: ['every client left'] });
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    const again = await getBlob(url);
    expect(again.digest).toBe(blob.digest);
    await upstream.settle();
    expect(upstream.countRequests('GET', `/v2/detached/big/blobs/${blob.digest}`)).toBe(2);
  }, 30_000);
});

describe('a fill running when the server shuts down', () => {
  it('is stopped, not failed, and leaves no temp file', async () => {
    const upstream = await startRegistry();
    const proxy = await startFaultProxy(upstream.url);
    const cache = await startCache({ upstreamUrl: proxy.url });
    try {
      const blob = randomBlob(8 * MiB);
      await pushBlob(upstream, 'shutdown/big', blob.bytes);
      proxy.setFault({ kind: 'trickle', bytesPerSecond: 4 * MiB });
      // The client leaves; the fill goes on detached (under the default limit) until the close.
      await getBlob(`${cache.url}/v2/shutdown/big/blobs/${blob.digest}`, {}, { stopAfter: 64 * 1024 });
      const inFlight = async (): Promise<number> => valueOf(parsePrometheusText(await cache.cache.metrics.render()), 'regcache_fills_in_flight');
      expect(await inFlight()).toBe(1);
      await cache.close();
      expect(await readdir(join(cache.dataDir, 'tmp'))).toEqual([]);
      expect(await fillReport(cache)).toEqual({ failures: 0, failedMetric: 0, stoppedMetric: 1, failedLogs: 0, stopReasons: ['regcache is shutting down'] });
    } finally {
      await cache.close().catch(() => undefined);
      await proxy.stop();
      await upstream.stop();
    }
  }, 30_000);
});
