/**
 * Answers from an upstream that are neither content nor a refusal of the repository: its token
 * server rate-limiting or answering nonsense, a small body lost on the way, a 429 that names
 * no Retry-After, and blob storage (where the upstream redirects) refusing or limiting one
 * download. Each is the upstream unavailable or limiting — a typed 503 or 429, what is cached
 * served stale — never a 500, a DENIED, or a lock-out of requests the upstream would serve.
 * Real parts: a token-auth docker-registry whose realm is reached through a fault proxy, and a
 * plain registry behind a fault proxy that redirects blobs to a second host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBlobHost, startFaultProxy, startRegistry, type BlobHost, type FaultProxy, type RunningRegistry } from '@regcache/testkit';
import { startCache, useProxiedCache, type RunningCache } from './helpers.js';
import { httpPull, pushTinyImage } from './images.js';
import { parsePrometheusText, valueOf } from './prom-text.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const TOKEN_PATH = /^\/token/;

async function errorOf(res: Response): Promise<{ status: number; code?: string; message?: string; retryAfter: string | null }> {
  const body = (await res.json()) as { errors?: Array<{ code: string; message: string }> };
  return { status: res.status, code: body.errors?.[0]?.code, message: body.errors?.[0]?.message, retryAfter: res.headers.get('retry-after') };
}

describe('a token server that rate-limits or answers nonsense', () => {
  let upstream: RunningRegistry;
  let realm: FaultProxy;
  const caches: Record<'anonymous' | 'credentials', RunningCache | undefined> = { anonymous: undefined, credentials: undefined };

  beforeAll(async () => {
    // Tokens live 11 s, of which regcache uses 1 s (it drops them 10 s early): each test below
    // waits that out, so the next request needs a new token.
    upstream = await startRegistry({
      auth: 'token',
      anonymousPull: true,
      tokenTtlSeconds: 11,
      tokenRealm: async (url) => {
        realm = await startFaultProxy(url);
        return `${realm.url}${new URL(url).pathname}`;
      },
    });
    const { username, password } = upstream.credentials ?? { username: '', password: '' };
    caches.anonymous = await startCache({ upstreams: [{ name: 'docker.io', url: upstream.url, tagTtl: '0s' }] });
    caches.credentials = await startCache({ upstreams: [{ name: 'docker.io', url: upstream.url, tagTtl: '0s', username, password }] });
  }, 60_000);

  afterAll(async () => {
    await caches.anonymous?.close();
    await caches.credentials?.close();
    await realm?.stop();
    await upstream?.stop();
  });

  it.each(['anonymous', 'credentials'] as const)('%s: a 429 from the token server is a rate limit, not refused credentials', async (who) => {
    const cache = caches[who];
    if (cache === undefined) throw new Error('not started');
    const image = await pushTinyImage(upstream, `tok429-${who}/app`, 'v1');
    const other = await pushTinyImage(upstream, `tok429-${who}/other`, 'v1');
    expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200, digest: image.digest });
    realm.setFault({ kind: 'status', status: 429, headers: { 'retry-after': '2' } }, { match: TOKEN_PATH });
    try {
      await sleep(1200);
      const limitedFrom = realm.requests().length;
      expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200, digest: image.digest, stale: true });
      const uncached = await errorOf(await fetch(`${cache.url}/v2/${other.name}/manifests/v1`));
      expect(uncached).toMatchObject({ status: 429, code: 'TOOMANYREQUESTS' });
      expect(Number(uncached.retryAfter)).toBeGreaterThanOrEqual(1);
      // Asked once; not again before its Retry-After.
      expect(realm.requests().slice(limitedFrom).map((r) => r.fault)).toEqual(['status']);
    } finally {
      realm.setFault({ kind: 'none' });
    }
    await sleep(2100);
    expect(await httpPull(cache.url, other.name, 'v1')).toMatchObject({ status: 200, digest: other.digest, stale: false });
  }, 30_000);

  it('a token server answering 200 without a token: 503 naming it, and the cached tag served stale', async () => {
    const cache = caches.anonymous;
    if (cache === undefined) throw new Error('not started');
    const image = await pushTinyImage(upstream, 'tokhtml/app', 'v1');
    const other = await pushTinyImage(upstream, 'tokhtml/other', 'v1');
    expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200, digest: image.digest });
    for (const body of ['<html>down for maintenance</html>', '{"token": ""}', 'null']) {
      realm.setFault({ kind: 'body', body }, { match: TOKEN_PATH });
      await sleep(1200);
      expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200, digest: image.digest, stale: true });
      expect(await errorOf(await fetch(`${cache.url}/v2/${other.name}/manifests/v1`))).toEqual({
        status: 503,
        code: 'UNAVAILABLE',
        message: 'upstream docker.io unavailable: its token server answered with no token',
        retryAfter: null,
      });
    }
    realm.setFault({ kind: 'none' });
    expect(await httpPull(cache.url, other.name, 'v1')).toMatchObject({ status: 200, digest: other.digest });
  }, 30_000);
});

describe('small bodies lost on the way, 429s without Retry-After, and blob storage', () => {
  const fx = useProxiedCache({ upstreams: [{ name: 'docker.io', url: '', tagTtl: '0s', timeouts: { headers: '3s', body: '1s' } }] });
  let blobHost: BlobHost;
  let storage: FaultProxy;

  beforeAll(async () => {
    blobHost = await startBlobHost(fx().upstream);
    storage = await startFaultProxy(blobHost.url);
  });
  afterAll(async () => {
    await storage?.stop();
    await blobHost?.stop();
  });

  it.each([
    ['reset', { kind: 'reset' }],
    ['stalled past timeouts.body', { kind: 'stall' }],
  ] as const)('a tags list or manifest %s mid-body: 503, or the cached tags list served stale', async (_label, fault) => {
    const { upstream, proxy, cache } = fx();
    const name = `lost-${fault.kind}/app`;
    await pushTinyImage(upstream, name, 'v1');
    expect((await fetch(`${cache.url}/v2/${name}/tags/list`)).status).toBe(200);
    proxy.setFault(fault, { match: /\/tags\/list|\/manifests\/v1$/ });
    try {
      const tags = await fetch(`${cache.url}/v2/${name}/tags/list`);
      expect([tags.status, tags.headers.get('x-regcache-stale'), await tags.json()]).toEqual([200, 'true', { name, tags: ['v1'] }]);
      const uncached = await errorOf(await fetch(`${cache.url}/v2/${name}/manifests/v1`));
      expect(uncached).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
      expect(uncached.message).toMatch(/^upstream docker\.io unavailable \((unreachable|timeout)\)$/);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
  }, 30_000);

  it('a tag that moved upstream to a manifest that does not parse: the cached one served stale', async () => {
    const { upstream, proxy, cache } = fx();
    const image = await pushTinyImage(upstream, 'garbled/app', 'v1');
    expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200, digest: image.digest });
    await pushTinyImage(upstream, image.name, 'v1');
    proxy.setFault({ kind: 'body', body: '{"schemaVersion": 2, "layers": ' }, { match: /\/manifests\// });
    try {
      expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200, digest: image.digest, stale: true });
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200, stale: false });
  }, 30_000);

  it('an upstream that stopped answering costs one timeout, then a second per stale answer until it answers again', async () => {
    const { upstream, proxy, cache } = fx();
    const [first, second] = [await pushTinyImage(upstream, 'silent/first', 'v1'), await pushTinyImage(upstream, 'silent/second', 'v1')];
    for (const image of [first, second]) expect(await httpPull(cache.url, image.name, 'v1')).toMatchObject({ status: 200 });
    const timed = async (name: string): Promise<[Awaited<ReturnType<typeof httpPull>>, number]> => {
      const started = performance.now();
      const pulled = await httpPull(cache.url, name, 'v1');
      return [pulled, performance.now() - started];
    };
    proxy.setFault({ kind: 'hang' }, { match: /\/manifests\//, methods: ['GET', 'HEAD'] });
    try {
      const [stale, waited] = await timed(first.name);
      expect([stale.stale, waited]).toEqual([true, expect.toSatisfy((ms: number) => ms >= 2900)]);
      const [next, suspected] = await timed(second.name);
      expect([next.stale, suspected]).toEqual([true, expect.toSatisfy((ms: number) => ms < 2500)]);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect(await httpPull(cache.url, first.name, 'v1')).toMatchObject({ status: 200, digest: first.digest, stale: false });
    expect(cache.cache.upstreamState('docker.io')?.timedOutAt).toBe(0);
  }, 30_000);

  it('a 429 without Retry-After on manifest GETs holds back only manifest GETs', async () => {
    const { upstream, proxy, cache } = fx();
    const held = await pushTinyImage(upstream, 'noretry/held', 'v1');
    const limited = await pushTinyImage(upstream, 'noretry/limited', 'v1');
    expect(await httpPull(cache.url, held.name, 'v1')).toMatchObject({ status: 200 });
    const limits = async (): Promise<number> =>
      valueOf(parsePrometheusText(await cache.cache.metrics.render()), 'regcache_upstream_errors_total', { upstream: 'docker.io', status: '429' });
    const limitsBefore = await limits();
    proxy.setFault({ kind: 'status', status: 429 }, { match: /\/manifests\//, methods: ['GET'] });
    try {
      expect(await errorOf(await fetch(`${cache.url}/v2/${limited.name}/manifests/${limited.digest}`))).toMatchObject({ status: 429, retryAfter: '60' });
      const asked = proxy.seen().length;
      // Docker Hub's pull limit counts manifest GETs only: HEADs and blobs are still asked for.
      expect(await httpPull(cache.url, held.name, 'v1')).toMatchObject({ status: 200, stale: false });
      const blob = limited.blobs[0] ?? '';
      expect((await fetch(`${cache.url}/v2/${limited.name}/blobs/${blob}`)).status).toBe(200);
      expect(proxy.seen().slice(asked)).toEqual([`HEAD /v2/${held.name}/manifests/v1`, `GET /v2/${limited.name}/blobs/${blob}`]);
      // The manifest GET itself is not sent again within the minute.
      expect((await fetch(`${cache.url}/v2/${limited.name}/manifests/${limited.digest}`)).status).toBe(429);
      expect(proxy.seen().length).toBe(asked + 2);
      // The upstream's one 429 is counted once; the answer regcache held back was never asked.
      expect(await limits()).toBe(limitsBefore + 1);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
  }, 30_000);

  it("blob storage's 429 limits that download only; its 403 (an expired signed URL) is the upstream unavailable, counted", async () => {
    const { upstream, proxy, cache } = fx();
    const image = await pushTinyImage(upstream, 'storage/app', 'v1');
    const [first = '', second = ''] = image.blobs;
    proxy.setFault({ kind: 'redirect', location: (path) => `${storage.url}${path}` }, /\/blobs\//);
    try {
      storage.setFault({ kind: 'status', status: 429, headers: { 'retry-after': '30' } }, { match: /\/blobs\//, times: 1 });
      expect(await errorOf(await fetch(`${cache.url}/v2/${image.name}/blobs/${first}`))).toMatchObject({ status: 429, code: 'TOOMANYREQUESTS', retryAfter: '30' });
      expect((await fetch(`${cache.url}/v2/${image.name}/blobs/${second}`)).status).toBe(200);

      const errors = async (): Promise<number> =>
        valueOf(parsePrometheusText(await cache.cache.metrics.render()), 'regcache_upstream_errors_total', { upstream: 'docker.io', status: '403' });
      const before = await errors();
      storage.setFault({ kind: 'status', status: 403 }, { match: /\/blobs\//, times: 1 });
      expect(await errorOf(await fetch(`${cache.url}/v2/${image.name}/blobs/${first}`))).toEqual({
        status: 503,
        code: 'UNAVAILABLE',
        message: 'upstream docker.io unavailable: its blob storage answered 403 to the redirect it gave',
        retryAfter: null,
      });
      expect(await errors()).toBe(before + 1);
      expect((await fetch(`${cache.url}/v2/${image.name}/blobs/${first}`)).status).toBe(200);
    } finally {
      proxy.setFault({ kind: 'none' });
      storage.setFault({ kind: 'none' });
    }
  }, 30_000);
});
