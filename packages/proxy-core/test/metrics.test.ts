/**
 * The admin listener's `/metrics` parses as Prometheus text and its counters move with real
 * requests against a real registry: requests by route and cache result, bytes by source, fill
 * durations, store size, evictions, upstream errors by upstream and status, blob requests on new
 * and kept-alive upstream connections. `/healthz` and
 * `/readyz` answer, and readiness fails once the store is closed.
 */
import { readFile } from 'node:fs/promises';
import { register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ACCEPT_ALL_MANIFESTS, MediaTypes, pushSmallImage } from '@regcache/testkit';
import { useProxiedCache } from './helpers.js';
import { eventually, imageBytes, pinsLapse, useSeededCache } from './ops-helpers.js';
import { parsePrometheusText, valueOf, type Sample } from './prom-text.js';

describe('metrics and health on the admin listener', () => {
  // No prefetch: each blob request here is the miss that fills it (prefetch.test.ts counts prefetches).
  const fx = useSeededCache('metrics', () => ({ fill: { prefetch: 0 } }));

  const scrape = async (): Promise<Sample[]> => {
    const res = await fx.admin.text('/metrics');
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(res.body);
  };
  const moved = async (name: string, labels: Record<string, string>, atLeast: number): Promise<void> =>
    eventually(async () => valueOf(await scrape(), name, labels) >= atLeast, 5000, `${name} ${JSON.stringify(labels)} to reach ${atLeast}`);
  const pullByHttp = async (): Promise<void> => {
    const { cache, images: { oci: image } } = fx;
    const manifest = await fetch(`${cache.url}/v2/${image.name}/manifests/${image.tag}`, { headers: { accept: MediaTypes.ociManifest } });
    expect(manifest.status).toBe(200);
    await manifest.arrayBuffer();
    for (const blob of image.blobs) expect((await fetch(`${cache.url}/v2/${image.name}/blobs/${blob.digest}`).then((r) => r.arrayBuffer())).byteLength).toBe(blob.size);
  };

  it('counts misses, upstream bytes and fills, then hits and cache bytes', async () => {
    const { images: { oci: image } } = fx;
    const before = await scrape();
    expect(valueOf(before, 'regcache_requests_total')).toBe(0);
    const blobBytes = image.blobs.reduce((sum, b) => sum + b.size, 0);
    await pullByHttp();
    await moved('regcache_requests_total', { route: 'blob', cache: 'miss', status: '200' }, image.blobs.length);
    // A pull ends when its bytes verify; each fill settles (and counts) once its commit is done.
    await moved('regcache_fill_duration_seconds_count', { result: 'ok' }, image.blobs.length);
    const afterMiss = await scrape();
    expect(valueOf(afterMiss, 'regcache_requests_total', { route: 'manifest', cache: 'miss' })).toBe(1);
    expect(valueOf(afterMiss, 'regcache_served_bytes_total', { source: 'upstream' })).toBe(blobBytes + image.manifest.length);
    expect(valueOf(afterMiss, 'regcache_fill_duration_seconds_count', { result: 'ok' })).toBe(image.blobs.length);
    expect(valueOf(afterMiss, 'regcache_request_duration_seconds_count', { route: 'blob' })).toBe(image.blobs.length);
    expect(valueOf(afterMiss, 'regcache_store_size_bytes')).toBe(imageBytes(image));
    // One blob fill after another from the http:// upstream: the first opens the connection the rest reuse.
    expect(valueOf(afterMiss, 'regcache_upstream_blob_connections_total', { upstream: 'docker.io', connection: 'new' })).toBe(1);
    expect(valueOf(afterMiss, 'regcache_upstream_blob_connections_total', { upstream: 'docker.io', connection: 'reused' })).toBe(image.blobs.length - 1);

    await pullByHttp();
    await moved('regcache_requests_total', { route: 'blob', cache: 'hit' }, image.blobs.length);
    const afterHit = await scrape();
    expect(valueOf(afterHit, 'regcache_requests_total', { route: 'manifest', cache: 'hit' })).toBe(1);
    expect(valueOf(afterHit, 'regcache_served_bytes_total', { source: 'cache' })).toBe(blobBytes + image.manifest.length);
  });

  it('times every request it counts: replayed hot manifests are in the duration histogram too', async () => {
    const { cache, images: { oci: image } } = fx;
    const url = `${cache.url}/v2/${image.name}/manifests/${image.tag}`;
    // The first answers from the normal path (and makes the answer hot); the rest are replays.
    for (let i = 0; i < 30; i++) {
      const res = await fetch(url, { method: i % 2 === 0 ? 'GET' : 'HEAD', headers: { accept: MediaTypes.ociManifest } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const samples = await scrape();
    const manifests = valueOf(samples, 'regcache_requests_total', { route: 'manifest' });
    expect(manifests).toBeGreaterThanOrEqual(30);
    for (const route of ['manifest', 'blob']) {
      const counted = valueOf(samples, 'regcache_requests_total', { route });
      expect(valueOf(samples, 'regcache_request_duration_seconds_count', { route }), route).toBe(counted);
      expect(valueOf(samples, 'regcache_request_duration_seconds_bucket', { route, le: '+Inf' }), route).toBe(counted);
    }
    expect(valueOf(samples, 'regcache_request_duration_seconds_count')).toBe(valueOf(samples, 'regcache_requests_total'));
    // Replays are observed as taking 0 s (request-metrics.ts): all in the first bucket, nothing added to the sum.
    expect(valueOf(samples, 'regcache_request_duration_seconds_bucket', { route: 'manifest', le: '0.005' })).toBeGreaterThanOrEqual(28);
  });

  it('labels requests with the cache results the README lists', async () => {
    const { cache } = fx;
    for (const path of ['/v2/', '/v2/_catalog', '/nowhere']) await (await fetch(`${cache.url}${path}`)).arrayBuffer();
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const listed = /`regcache_requests_total\{route,cache,status\}` \(cache = ([^)]*?)(?::|\))/s.exec(readme)?.[1];
    const documented = new Set((listed ?? '').split(/,\s*(?:or\s+)?|\s+or\s+/).map((w) => w.trim()));
    const seen = new Set((await scrape()).filter((s) => s.name === 'regcache_requests_total').map((s) => s.labels.cache));
    expect(seen.has('local')).toBe(true);
    for (const result of seen) expect(documented, `cache="${result}"`).toContain(result);
  });

  it('counts upstream failures by upstream and status, as stats does, and not a 404', async () => {
    const { upstream, cache, images: { oci: image } } = fx;
    const statsErrors = (): number => cache.cache.stats.snapshot().upstreamErrors ?? 0;
    const [metricBefore, statsBefore] = [valueOf(await scrape(), 'regcache_upstream_errors_total'), statsErrors()];
    // A typo: the upstream's 404 passes to the client, and is no upstream failure in either.
    const missing = await fetch(`${cache.url}/v2/${image.name}/manifests/no-such-tag`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    expect(valueOf(await scrape(), 'regcache_upstream_errors_total')).toBe(metricBefore);
    expect(statsErrors()).toBe(statsBefore);
    await upstream.stop();
    try {
      const unreachable = await fetch(`${cache.url}/v2/${image.name}/blobs/sha256:${'1'.repeat(64)}`);
      expect(unreachable.status).toBe(503);
      await moved('regcache_upstream_errors_total', { upstream: 'docker.io', status: 'unreachable' }, 1);
      expect(statsErrors()).toBeGreaterThan(statsBefore);
    } finally {
      await upstream.start();
    }
  }, 30_000);

  it('counts evictions and the store shrinking', async () => {
    const { admin, images: { oci: image } } = fx;
    await pinsLapse();
    const { result } = await admin.run<{ removed: unknown[] }>('/gc', { maxSize: 0 });
    expect(result.removed.length).toBeGreaterThan(0);
    const samples = await scrape();
    expect(valueOf(samples, 'regcache_evictions_total', { reason: 'size' })).toBe(result.removed.length);
    expect(valueOf(samples, 'regcache_evicted_bytes_total', { reason: 'size' })).toBe(imageBytes(image));
    expect(valueOf(samples, 'regcache_store_size_bytes')).toBe(0);
  });

  it('keeps its metrics in a registry of its own, never the global one', () => {
    const { cache } = fx;
    expect(register.getSingleMetric('regcache_requests_total')).toBeUndefined();
    expect(cache.cache.metrics.registry.getSingleMetric('regcache_requests_total')).toBeDefined();
  });

  it('answers /healthz and /readyz, and is not ready once the store is closed', async () => {
    const { cache, admin } = fx;
    expect(await admin.get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await admin.get('/readyz')).toMatchObject({ status: 200, body: { status: 'ready', checks: { store: 'ok', disk: 'ok' } } });
    await cache.cache.store.close();
    expect(await admin.get('/readyz')).toMatchObject({ status: 503, body: { status: 'unready', checks: { store: 'failed' } } });
  });
});

describe('upstream failures in the metrics', () => {
  const fx = useProxiedCache();
  const errors = async (labels: Record<string, string> = {}): Promise<number> =>
    valueOf(parsePrometheusText(await fx().cache.cache.metrics.render()), 'regcache_upstream_errors_total', { upstream: 'docker.io', ...labels });
  const pull = async (path: string): Promise<number> => {
    const res = await fetch(`${fx().cache.url}${path}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
    await res.arrayBuffer();
    return res.status;
  };

  it('counts a 5xx and a manifest that fails verification (content), never a refusal', async () => {
    const { upstream, proxy, cache } = fx();
    const image = await pushSmallImage(upstream, 'errors/app', 'v1');
    for (const tag of ['v2', 'v3']) await pushSmallImage(upstream, image.name, tag);
    expect(await pull(`/v2/${image.name}/manifests/v1`)).toBe(200);
    for (const status of [404, 403, 401]) {
      proxy.setFault({ kind: 'status', status, body: '{"errors":[{"code":"NAME_UNKNOWN","message":"no"}]}' }, { match: /\/manifests\/other$/, times: 1 });
      expect(await pull(`/v2/${image.name}/manifests/other`)).toBeGreaterThanOrEqual(400);
    }
    expect(await errors()).toBe(0);
    expect(cache.cache.stats.snapshot().upstreamErrors ?? 0).toBe(0);

    proxy.setFault({ kind: 'status', status: 502 }, { match: /\/manifests\/v2$/, times: 1 });
    expect(await pull(`/v2/${image.name}/manifests/v2`)).toBe(503);
    expect(await errors({ status: '502' })).toBe(1);
    const wrong = `sha256:${'0'.repeat(64)}`;
    proxy.setFault({ kind: 'headers', headers: { 'docker-content-digest': wrong } }, { match: /\/manifests\/v3$/, times: 1 });
    expect(await pull(`/v2/${image.name}/manifests/v3`)).toBe(503);
    expect(await errors({ status: 'content' })).toBe(1);
    // Each failure was a failed answer in stats too.
    expect(cache.cache.stats.snapshot().upstreamErrors).toBe(2);
  });
});
