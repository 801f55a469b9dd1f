/**
 * An upstream failure that only shows after the head — a manifest's or a tag list's body cut,
 * stalled or unreadable — is answered 503 and counted in `stats` as the upstream's; the metric
 * `regcache_upstream_errors_total` counts it too, under its kind, once: a failure the upstream
 * client already counted (a 5xx, a blob GET's 503 shared by the clients waiting on one fill) is
 * not counted again when it is answered. Through a real registry behind the fault proxy.
 */
import { describe, expect, it } from 'vitest';
import { pushBlob, pushSmallImage, type Fault } from '@regcache/testkit';
import { getBlob, randomBlob } from './fill-helpers.js';
import { useProxiedCache } from './helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json';

describe('upstream failures after the head', () => {
  const fx = useProxiedCache({ fill: { prefetch: 0 }, upstreams: [{ name: 'docker.io', url: '', timeouts: { body: '1s' } }] });
  const metric = async (status?: string): Promise<number> =>
    valueOf(parsePrometheusText(await fx().cache.cache.metrics.render()), 'regcache_upstream_errors_total', status === undefined ? {} : { upstream: 'docker.io', status });
  const statsErrors = (): number => fx().cache.cache.stats.snapshot().upstreamErrors ?? 0;

  const cases: Array<{ name: string; route: 'manifests/v1' | 'tags/list'; fault: Fault; label: string }> = [
    { name: 'a manifest cut short', route: 'manifests/v1', fault: { kind: 'truncate' }, label: 'unreachable' },
    { name: 'a manifest reset mid-body', route: 'manifests/v1', fault: { kind: 'reset' }, label: 'unreachable' },
    { name: 'a manifest stalled past timeouts.body', route: 'manifests/v1', fault: { kind: 'stall' }, label: 'timeout' },
    { name: 'a tag list cut short', route: 'tags/list', fault: { kind: 'truncate' }, label: 'unreachable' },
    { name: 'a tag list that is not JSON', route: 'tags/list', fault: { kind: 'body', body: '{"name":' }, label: 'content' },
  ];
  for (const c of cases) {
    it(`counts ${c.name} once, in stats and the metric (${c.label})`, async () => {
      const { upstream, proxy, cache } = fx();
      const image = await pushSmallImage(upstream, `bodies/${c.route.split('/')[0]}-${c.label}-${c.fault.kind}`, 'v1');
      const [labelled, total, stats] = [await metric(c.label), await metric(), statsErrors()];
      proxy.setFault(c.fault, { match: new RegExp(`/${c.route}$`), times: 1 });
      const res = await fetch(`${cache.url}/v2/${image.name}/${c.route}`, { headers: { accept: ACCEPT } });
      await res.arrayBuffer();
      expect(res.status).toBe(503);
      expect([(await metric(c.label)) - labelled, (await metric()) - total, statsErrors() - stats]).toEqual([1, 1, 1]);
    }, 20_000);
  }

  it('counts a 5xx answered to a client once, as the upstream client saw it', async () => {
    const { upstream, proxy, cache } = fx();
    const image = await pushSmallImage(upstream, 'bodies/status', 'v1');
    const [labelled, total] = [await metric('502'), await metric()];
    proxy.setFault({ kind: 'status', status: 502 }, { match: /\/manifests\/v1$/, times: 1 });
    const res = await fetch(`${cache.url}/v2/${image.name}/manifests/v1`, { headers: { accept: ACCEPT } });
    await res.arrayBuffer();
    expect(res.status).toBe(503);
    expect([(await metric('502')) - labelled, (await metric()) - total]).toEqual([1, 1]);
  });

  it('counts a blob 503 once per upstream request, not once per client waiting on the fill', async () => {
    const { upstream, proxy, cache } = fx();
    const blob = randomBlob(64 * 1024);
    await pushBlob(upstream, 'bodies/waiting', blob.bytes);
    const path = `/v2/bodies/waiting/blobs/${blob.digest}`;
    const [total, stats] = [await metric(), statsErrors()];
    proxy.setFault({ kind: 'status', status: 503 }, { match: /\/bodies\/waiting\/blobs\// });
    const pulls = await Promise.all([1, 2, 3].map(() => getBlob(`${cache.url}${path}`)));
    proxy.setFault({ kind: 'none' });
    expect(pulls.map((p) => p.status)).toEqual([503, 503, 503]);
    // Clients that waited on a fill share its error (and retry together once it failed): the
    // metric follows the upstream's answers, stats the clients'.
    const asked = proxy.requests().filter((r) => r.url === path).length;
    expect([(await metric()) - total, statsErrors() - stats]).toEqual([asked, 3]);
  });
});

describe('stale answers after a failure after the head', () => {
  const fx = useProxiedCache({ fill: { prefetch: 0 }, upstreams: [{ name: 'docker.io', url: '', tagTtl: '300ms', timeouts: { body: '1s' } }] });
  const metric = async (status: string): Promise<number> => valueOf(parsePrometheusText(await fx().cache.cache.metrics.render()), 'regcache_upstream_errors_total', { upstream: 'docker.io', status });
  const counted = async (status: string): Promise<[number, number, number]> => {
    const stats = fx().cache.cache.stats.snapshot();
    return [await metric(status), stats.upstreamErrors ?? 0, stats.stale ?? 0];
  };
  const later = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 400));

  it('a tag list cut short once its TTL passed: served stale, counted once in stats and the metric', async () => {
    const { upstream, proxy, cache } = fx();
    const image = await pushSmallImage(upstream, 'bodies/stale-tags', 'v1');
    const url = `${cache.url}/v2/${image.name}/tags/list`;
    expect((await fetch(url).then((r) => r.json())) as unknown).toEqual({ name: image.name, tags: ['v1'] });
    await later();
    const before = await counted('unreachable');
    proxy.setFault({ kind: 'truncate' }, { match: /\/tags\/list$/, times: 1 });
    const res = await fetch(url);
    expect([res.status, res.headers.get('x-regcache-stale')]).toEqual([200, 'true']);
    expect((await res.json()) as unknown).toEqual({ name: image.name, tags: ['v1'] });
    const after = await counted('unreachable');
    expect(after.map((n, i) => n - (before[i] ?? 0))).toEqual([1, 1, 1]);
  }, 20_000);

  it("a moved tag whose new manifest is cut short: the old one served stale, counted once in stats and the metric", async () => {
    const { upstream, proxy, cache } = fx();
    const first = await pushSmallImage(upstream, 'bodies/stale-tag', 'v1');
    const url = `${cache.url}/v2/${first.name}/manifests/v1`;
    expect((await fetch(url, { headers: { accept: ACCEPT } })).headers.get('docker-content-digest')).toBe(first.digest);
    const moved = await pushSmallImage(upstream, 'bodies/stale-tag', 'v1');
    expect(moved.digest).not.toBe(first.digest);
    await later();
    const before = await counted('unreachable');
    proxy.setFault({ kind: 'truncate' }, { match: /\/manifests\//, times: 1 });
    const res = await fetch(url, { headers: { accept: ACCEPT } });
    await res.arrayBuffer();
    expect([res.status, res.headers.get('x-regcache-stale'), res.headers.get('docker-content-digest')]).toEqual([200, 'true', first.digest]);
    const after = await counted('unreachable');
    expect(after.map((n, i) => n - (before[i] ?? 0))).toEqual([1, 1, 1]);
  }, 20_000);
});
