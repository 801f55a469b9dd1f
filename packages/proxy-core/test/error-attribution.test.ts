/**
 * Whose failure the counters say it was, through a real registry behind the fault proxy: a blob
 * whose bytes do not match its digest is the upstream's (`content`), counted once per fill
 * however many clients waited for it, in `stats` per upstream as in the metric; a 429 passed to
 * the client is an upstream error in `stats` as it is in the metric; a store that fails under a
 * request is a store error, never an upstream one; and nothing answered because the cache is
 * shutting down counts as either.
 */
import { describe, expect, it } from 'vitest';
import { pushBlob, startFaultProxy, startRegistry } from '@regcache/testkit';
import { getBlob, looksComplete, randomBlob } from './fill-helpers.js';
import { expectStored, startCache, useProxiedCache } from './helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';
import type { RunningCache } from './helpers.js';

const MiB = 1024 * 1024;

interface Counts {
  stats: Readonly<Record<string, number>>;
  metric(labels?: Record<string, string>): number;
}

async function counts(cache: RunningCache): Promise<Counts> {
  const samples = parsePrometheusText(await cache.cache.metrics.render());
  return { stats: { ...cache.cache.stats.snapshot() }, metric: (labels = {}) => valueOf(samples, 'regcache_upstream_errors_total', labels) };
}

const moved = (before: Counts, after: Counts, name: string): number => (after.stats[name] ?? 0) - (before.stats[name] ?? 0);

describe('upstream errors: content and rate limits', () => {
  const fx = useProxiedCache({ fill: { prefetch: 0 } });

  it('counts a blob that does not match its digest once, as content, however many clients waited for it', async () => {
    const { upstream, proxy, cache } = fx();
    const blob = randomBlob(4 * MiB);
    await pushBlob(upstream, 'blame/content', blob.bytes);
    const path = `/v2/blame/content/blobs/${blob.digest}`;
    const before = await counts(cache);
    proxy.setFault({ kind: 'corrupt' });
    const pulls = await Promise.all([1, 2, 3].map(() => getBlob(`${cache.url}${path}`)));
    proxy.setFault({ kind: 'none' });
    for (const pull of pulls) expect(looksComplete(pull) && pull.digest === blob.digest).toBe(false);
    // One fill served all three: the upstream was asked once.
    expect(proxy.requests().filter((r) => r.url === path).length).toBe(1);
    await expect.poll(async () => (await counts(cache)).stats.fillFailures ?? 0).toBe((before.stats.fillFailures ?? 0) + 1);
    const after = await counts(cache);
    expect(after.metric({ upstream: 'docker.io', status: 'content' }) - before.metric({ upstream: 'docker.io', status: 'content' })).toBe(1);
    expect(after.metric() - before.metric()).toBe(1);
    expect([moved(before, after, 'upstreamErrors'), moved(before, after, 'upstreamErrors@docker.io')]).toEqual([1, 1]);
    expect((await getBlob(`${cache.url}${path}`)).digest).toBe(blob.digest);
  }, 30_000);

  it('counts a 429 passed to the client as an upstream error in stats, as the metric does', async () => {
    const { upstream, proxy, cache } = fx();
    const blob = randomBlob(64 * 1024);
    await pushBlob(upstream, 'blame/limited', blob.bytes);
    const before = await counts(cache);
    proxy.setFault({ kind: 'status', status: 429, headers: { 'retry-after': '1' } }, { match: /\/blame\/limited\/blobs\//, times: 1 });
    const limited = await getBlob(`${cache.url}/v2/blame/limited/blobs/${blob.digest}`);
    expect(limited.status).toBe(429);
    const after = await counts(cache);
    expect(after.metric({ upstream: 'docker.io', status: '429' }) - before.metric({ upstream: 'docker.io', status: '429' })).toBe(1);
    expect([moved(before, after, 'upstreamErrors'), moved(before, after, 'upstreamErrors@docker.io'), moved(before, after, 'storeErrors')]).toEqual([1, 1, 0]);
  });
});

describe('store errors and shutdown', () => {
  const fx = useProxiedCache({ fill: { prefetch: 0 } });

  it('counts a request the failing store could not answer as a store error, not an upstream error', async () => {
    const { upstream, cache } = fx();
    const blob = randomBlob(64 * 1024);
    await pushBlob(upstream, 'blame/store', blob.bytes);
    const url = `${cache.url}/v2/blame/store/blobs/${blob.digest}`;
    const other = randomBlob(64 * 1024);
    await pushBlob(upstream, 'blame/store', other.bytes);
    expect((await getBlob(url)).digest).toBe(blob.digest);
    await expectStored(cache, blob.digest);
    const before = await counts(cache);
    // The store fails under a running cache (its index closed, as after an I/O error): every lookup throws.
    await cache.cache.store.close();
    const failed = await getBlob(`${cache.url}/v2/blame/store/blobs/${other.digest}`);
    expect(failed.status).toBe(503);
    const after = await counts(cache);
    expect([moved(before, after, 'storeErrors'), moved(before, after, 'upstreamErrors'), moved(before, after, 'upstreamErrors@docker.io')]).toEqual([1, 0, 0]);
    expect(after.metric() - before.metric()).toBe(0);
    expect(cache.logs.some((l) => l.msg === 'request' && l.status === 503 && typeof l.error === 'string' && l.error.includes('not open'))).toBe(true);
  });
});

describe('a cache shutting down under a request', () => {
  it('counts what the shutdown fails (a store closed under a request) as neither a store nor an upstream error', async () => {
    const upstream = await startRegistry();
    const proxy = await startFaultProxy(upstream.url);
    const cache = await startCache({ upstreams: [{ name: 'docker.io', url: proxy.url, timeouts: { headers: '1s' } }], fill: { prefetch: 0 } });
    try {
      const blob = randomBlob(64 * 1024);
      await pushBlob(upstream, 'blame/closing', blob.bytes);
      const path = `/v2/blame/closing/blobs/${blob.digest}`;
      // The upstream does not answer: the first pull's fill waits on it, the second waits on that fill.
      proxy.setFault({ kind: 'hang' }, { match: /\/blame\/closing\/blobs\// });
      const first = getBlob(`${cache.url}${path}`);
      await expect.poll(() => proxy.requests().filter((r) => r.url === path).length).toBe(1);
      const second = getBlob(`${cache.url}${path}`);
      // In the handler before close() begins (past its closed check), then waiting on the first's fill.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = await counts(cache);
      // close() waits for the upstream request in flight, then closes the store under the second pull.
      const closing = cache.cache.close();
      const answers = await Promise.all([first, second]);
      await closing;
      expect(answers.map((a) => a.status)).toEqual([503, 503]);
      const after = await counts(cache);
      expect([moved(before, after, 'upstreamErrors'), moved(before, after, 'storeErrors')]).toEqual([0, 0]);
      expect(cache.logs.filter((l) => l.msg === 'unexpected error')).toEqual([]);
    } finally {
      proxy.setFault({ kind: 'none' });
      await cache.close();
      await proxy.stop();
      await upstream.stop();
    }
  }, 30_000);
});
