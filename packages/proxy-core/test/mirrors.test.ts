/**
 * An upstream with a mirror (`upstreams[].mirrors`), both real registries — the upstream with
 * token auth, the mirror plain behind a fault proxy: a pull of an image the mirror holds costs
 * the upstream one HEAD (the tag resolved there) and nothing else; an image only the upstream
 * holds comes from it after the mirror's 404s; a mirror whose bytes do not verify loses that
 * digest to the upstream; a mirror that cannot answer is asked once and then left out while
 * the pull goes to the upstream. Every pull is checked digest by digest; `upstreams` checks the
 * mirror on a row of its own. With the upstream down, a tag it cannot resolve is resolved at the
 * mirror, served stale, and revalidated at the upstream once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MediaTypes,
  skopeoPull,
  startFaultProxy,
  startRegistry,
  type FaultProxy,
  type RunningRegistry,
} from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';
import { httpPull, pushSameImage } from './images.js';

interface Pushed {
  digest: string;
  blobs: string[];
}

/** One image (built once) pushed as name:tag to each registry: the same bytes, the same digests. */
function pushTo(registries: RunningRegistry[], name: string, tag: string): Promise<Pushed> {
  return pushSameImage(registries.map((r) => [r, name] as const), tag, name);
}

describe('mirrors', () => {
  let upstream: RunningRegistry;
  let mirror: RunningRegistry;
  let proxy: FaultProxy;
  let cache: RunningCache;

  beforeAll(async () => {
    [upstream, mirror] = await Promise.all([startRegistry({ auth: 'token' }), startRegistry()]);
    proxy = await startFaultProxy(mirror.url);
    const creds = upstream.credentials ?? { username: '', password: '' };
    cache = await startCache({ upstreams: [{ name: 'docker.io', url: upstream.url, username: creds.username, password: creds.password, mirrors: [{ url: proxy.url }] }] });
  }, 60_000);

  afterAll(async () => {
    await cache?.close();
    await proxy?.stop();
    await Promise.all([upstream?.stop(), mirror?.stop()]);
  });

  /** Upstream requests other than token-auth challenges (a 401 before each token). */
  const upstreamSaw = async (): Promise<string[]> => {
    await upstream.settle();
    return upstream.requests().filter((e) => e.status !== 401).map((e) => `${e.method} ${e.path}`);
  };

  it('pulls what the mirror holds with one HEAD to the upstream: the tag is resolved there, the content comes from the mirror', async () => {
    const image = await pushTo([upstream, mirror], 'both/app', '1');
    upstream.resetRequests();
    const before = proxy.seen().length;
    const pulled = await skopeoPull(`${cache.host}/both/app:1`);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.manifestDigest).toBe(image.digest);
    expect(await upstreamSaw()).toEqual(['HEAD /v2/both/app/manifests/1']);
    expect(proxy.seen().slice(before).sort()).toEqual([`GET /v2/both/app/manifests/${image.digest}`, ...image.blobs.map((b) => `GET /v2/both/app/blobs/${b}`)].sort());
    const metrics = await cache.cache.metrics.render();
    expect(metrics).toMatch(new RegExp(`regcache_mirror_fetches_total\\{upstream="docker.io",mirror="${proxy.host}",result="ok"\\} ${1 + image.blobs.length}`));
    expect((await cache.cache.operations.stats()).mirrorFetches).toBe(1 + image.blobs.length);
  }, 60_000);

  it('checks each mirror beside its upstream (regcache-admin upstreams)', async () => {
    expect(await cache.cache.operations.upstreams()).toEqual([
      expect.objectContaining({ name: 'docker.io', url: upstream.url, ok: true, status: 200 }),
      expect.objectContaining({ name: proxy.host, mirrorOf: 'docker.io', url: proxy.url, ok: true, status: 200 }),
    ]);
  });

  it('falls back to the upstream for what the mirror does not have', async () => {
    const image = await pushTo([upstream], 'only/app', '1');
    upstream.resetRequests();
    const pulled = await httpPull(cache.url, 'only/app', '1');
    expect(pulled.digest).toBe(image.digest);
    expect(pulled.blobs.sort()).toEqual([...image.blobs].sort());
    expect((await upstreamSaw()).sort()).toEqual(
      ['HEAD /v2/only/app/manifests/1', `GET /v2/only/app/manifests/${image.digest}`, ...image.blobs.map((b) => `GET /v2/only/app/blobs/${b}`)].sort(),
    );
  }, 60_000);

  it('does not ask a mirror again for a digest whose bytes did not verify', async () => {
    const image = await pushTo([upstream, mirror], 'bad/app', '1');
    const layer = image.blobs[1] ?? '';
    proxy.setFault({ kind: 'corrupt' }, { match: new RegExp(layer), times: 1 });
    upstream.resetRequests();
    const first = await fetch(`${cache.url}/v2/bad/app/blobs/${layer}`).then(
      async (res) => ({ status: res.status, complete: await res.arrayBuffer().then(() => true, () => false) }),
      () => ({ status: 0, complete: false }),
    );
    // The last byte waits for the digest: a client never gets the whole of a blob that did not verify.
    expect(first.complete && first.status === 200).toBe(false);
    const second = await httpPull(cache.url, 'bad/app', '1');
    expect(second.blobs).toContain(layer);
    expect((await upstreamSaw()).filter((line) => line.includes('/blobs/'))).toEqual([`GET /v2/bad/app/blobs/${layer}`]);
    expect(await cache.cache.metrics.render()).toMatch(/regcache_mirror_fetches_total\{[^}]*result="mismatch"\} 1/);
  }, 60_000);

  it("counts a mirror's body lost mid-blob as the mirror's failure in the metric, the upstream's in stats", async () => {
    const image = await pushTo([upstream, mirror], 'cut/app', '1');
    const layer = image.blobs[1] ?? '';
    const unreachable = async (host: string): Promise<number> =>
      valueOf(parsePrometheusText(await cache.cache.metrics.render()), 'regcache_upstream_errors_total', { upstream: host, status: 'unreachable' });
    const before = { mirror: await unreachable(proxy.host), upstream: await unreachable('docker.io'), stats: cache.cache.stats.snapshot()['upstreamErrors@docker.io'] ?? 0 };
    proxy.setFault({ kind: 'truncate' }, { match: new RegExp(layer), times: 1 });
    const cut = await fetch(`${cache.url}/v2/cut/app/blobs/${layer}`).then(
      async (res) => res.status === 200 && (await res.arrayBuffer().then(() => true, () => false)),
      () => false,
    );
    expect(cut).toBe(false);
    // The fill settles (and is counted) after the client has its answer.
    for (let i = 0; i < 50 && (await unreachable(proxy.host)) === before.mirror; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await unreachable(proxy.host)).toBe(before.mirror + 1);
    expect(await unreachable('docker.io')).toBe(before.upstream);
    expect(cache.cache.stats.snapshot()['upstreamErrors@docker.io'] ?? 0).toBeGreaterThan(before.stats);
  }, 60_000);

  it('leaves out a mirror that cannot answer: asked once, the pull served by the upstream', async () => {
    const image = await pushTo([upstream, mirror], 'down/app', '1');
    proxy.setFault({ kind: 'status', status: 503 }, { match: /\/v2\/down\//, methods: ['GET', 'HEAD'] });
    const before = proxy.seen().length;
    try {
      const pulled = await skopeoPull(`${cache.host}/down/app:1`);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(pulled.manifestDigest).toBe(image.digest);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect(proxy.seen().slice(before)).toEqual([`GET /v2/down/app/manifests/${image.digest}`]);
  }, 60_000);
});

describe('mirrors while the upstream is down', () => {
  let upstream: RunningRegistry;
  let mirror: RunningRegistry;
  let front: FaultProxy;
  let cache: RunningCache;

  beforeAll(async () => {
    [upstream, mirror] = await Promise.all([startRegistry(), startRegistry()]);
    front = await startFaultProxy(upstream.url);
    cache = await startCache({ upstreams: [{ name: 'docker.io', url: front.url, tagTtl: '1h', mirrors: [{ url: mirror.url }] }] });
  }, 60_000);

  afterAll(async () => {
    await cache?.close();
    await front?.stop();
    await Promise.all([upstream?.stop(), mirror?.stop()]);
  });

  const getTag = async (name: string): Promise<{ status: number; digest: string | null; stale: string | null; cache: string | null }> => {
    const res = await fetch(`${cache.url}/v2/${name}/manifests/1`, { headers: { accept: MediaTypes.ociManifest } });
    await res.arrayBuffer();
    return { status: res.status, digest: res.headers.get('docker-content-digest'), stale: res.headers.get('x-regcache-stale'), cache: res.headers.get('x-regcache-cache') };
  };

  it('resolves a tag at the mirror, marked stale, and at the upstream again once it answers', async () => {
    const image = await pushTo([upstream, mirror], 'offline/app', '1');
    await pushTo([upstream], 'offline/only-upstream', '1');
    front.setFault({ kind: 'status', status: 503 }, { match: /\/manifests\//, methods: ['GET', 'HEAD'] });
    try {
      expect(await getTag('offline/app')).toMatchObject({ status: 200, digest: image.digest, stale: 'true' });
      const pulled = await httpPull(cache.url, 'offline/app', '1');
      expect(pulled).toMatchObject({ status: 200, digest: image.digest });
      expect(pulled.blobs.sort()).toEqual([...image.blobs].sort());
      // Recorded past its TTL: the next request asks the upstream, which is still down — served stale from the cache.
      // (Once the pull's own failed revalidation, shared for a second, has lapsed.)
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const before = front.seen().length;
      expect(await getTag('offline/app')).toMatchObject({ status: 200, digest: image.digest, stale: 'true' });
      expect(front.seen().slice(before)).toEqual(['HEAD /v2/offline/app/manifests/1']);
      // Neither the upstream nor the mirror has it: the upstream's own answer.
      expect((await getTag('offline/only-upstream')).status).toBe(503);
    } finally {
      front.setFault({ kind: 'none' });
    }
    // A revalidation's answer, a failed one too, is shared for a second (freshness.ts).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await getTag('offline/app')).toMatchObject({ status: 200, digest: image.digest, stale: null, cache: 'hit' });
    expect(await getTag('offline/app')).toMatchObject({ status: 200, digest: image.digest, stale: null, cache: 'hit' });
  }, 60_000);
});
