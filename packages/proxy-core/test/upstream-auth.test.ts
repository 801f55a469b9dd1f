/**
 * Pulls through upstreams that demand credentials: a real registry with Basic auth
 * (htpasswd, bcrypt), and a real registry with Docker's token auth backed by a small token
 * server. regcache answers the upstream's challenge itself; the client sends nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ACCEPT_ALL_MANIFESTS, seedImages, skopeoPull, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';

const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

async function setup(auth: 'basic' | 'token', withCredentials: boolean): Promise<{ upstream: RunningRegistry; cache: RunningCache }> {
  const upstream = await startRegistry({ auth, username: 'puller', password: 's3cret-pass' });
  stops.push(() => upstream.stop());
  const cache = await cacheOf(upstream, withCredentials ? 's3cret-pass' : undefined);
  return { upstream, cache };
}

async function cacheOf(upstream: RunningRegistry, password: string | undefined, dataDir?: string): Promise<RunningCache> {
  const credentials = password === undefined ? {} : { username: 'puller', password };
  const cache = await startCache({
    upstreams: [{ name: 'docker.io', url: upstream.url, tagTtl: '0s', ...credentials }],
    ...(dataDir === undefined ? {} : { storage: { path: dataDir } }),
  });
  stops.push(() => cache.close());
  return cache;
}

async function answer(cache: RunningCache, path: string): Promise<{ status: number; code?: string; message?: string; challenge: string | null; stale: string | null }> {
  const res = await fetch(`${cache.url}${path}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
  const body = (await res.json()) as { errors?: Array<{ code: string; message: string }> };
  const error = body.errors?.[0];
  return { status: res.status, code: error?.code, message: error?.message, challenge: res.headers.get('www-authenticate'), stale: res.headers.get('x-regcache-stale') };
}

describe.each(['basic', 'token'] as const)('an upstream with %s auth', (auth) => {
  it('pulls every image through regcache with configured credentials', async () => {
    const { upstream, cache } = await setup(auth, true);
    const images = await seedImages(upstream, { prefix: `auth-${auth}` });
    for (const image of [images.docker, images.oci, images.multiArch]) {
      const pulled = await skopeoPull(`${cache.host}/${image.name}:${image.tag}`, { all: true });
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(pulled.manifestDigest).toBe(image.digest);
    }
    expect(cache.logs.some((l) => JSON.stringify(l).includes('s3cret-pass'))).toBe(false);
  }, 180_000);

  it('answers 403 DENIED, with no challenge the client could answer, when regcache has no credentials', async () => {
    const { upstream, cache } = await setup(auth, false);
    const images = await seedImages(upstream, { prefix: `noauth-${auth}` });
    expect(await answer(cache, `/v2/${images.oci.name}/manifests/${images.oci.tag}`)).toEqual({
      status: 403,
      code: 'DENIED',
      message: 'upstream docker.io refused access to this repository: it needs credentials regcache does not have for it, or it does not exist there',
      challenge: null,
      stale: null,
    });
  }, 180_000);

  it('answers 503 naming the credentials when the upstream refuses them, stops sending them for a while, and serves what it holds', async () => {
    const { upstream, cache } = await setup(auth, true);
    const images = await seedImages(upstream, { prefix: `refused-${auth}` });
    const tagged = `/v2/${images.oci.name}/manifests/${images.oci.tag}`;
    expect((await answer(cache, tagged)).status).toBe(200);
    await cache.close();
    // The password changed upstream (here: regcache restarted with a wrong one).
    const refused = await cacheOf(upstream, 'wrong-pass', cache.dataDir);
    const message = "upstream docker.io refused regcache's configured credentials (401): check its username, password or token";
    expect(await answer(refused, `/v2/${images.docker.name}/manifests/${images.docker.tag}`)).toMatchObject({ status: 503, code: 'UNAVAILABLE', message, challenge: null });
    expect(refused.logs.find((l) => l.msg === 'request' && l.status === 503)).toMatchObject({ error: message });
    await upstream.settle();
    const asked = [upstream.requests().length, upstream.tokenServer?.requests().length];
    // Within the next 30 s the same credentials are not sent again: answered at once, and the cached tag served stale.
    expect(await answer(refused, `/v2/${images.multiArch.name}/manifests/${images.multiArch.tag}`)).toMatchObject({ status: 503, message });
    expect(await answer(refused, tagged)).toMatchObject({ status: 200, stale: 'true' });
    await upstream.settle();
    expect([upstream.requests().length, upstream.tokenServer?.requests().length]).toEqual(asked);
    expect(JSON.stringify(refused.logs)).not.toContain('wrong-pass');
  }, 180_000);
});

describe('an upstream whose token realm stops answering', () => {
  it('asks the upstream afresh after a failed token fetch, and learns that it needs no token any more', async () => {
    const tokened = await startRegistry({ auth: 'token', anonymousPull: true });
    let open: RunningRegistry | undefined;
    const cache = await startCache({ upstreams: [{ name: 'docker.io', url: tokened.url }] });
    try {
      const images = await seedImages(tokened, { prefix: 'realm' });
      const get = async (image: { name: string; tag: string }): Promise<number> => {
        const res = await fetch(`${cache.url}/v2/${image.name}/manifests/${image.tag}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
        await res.arrayBuffer();
        return res.status;
      };
      expect(await get(images.docker)).toBe(200);
      // The same registry content served without auth on the same address; the old realm is gone.
      await tokened.stop();
      open = await startRegistry({ port: tokened.port, dataDir: tokened.dataDir });
      // The first request still tries the realm it knew (503); the next asks the upstream itself.
      const statuses = [await get(images.oci), await get(images.oci), await get(images.multiArch)];
      expect(statuses.slice(1)).toEqual([200, 200]);
    } finally {
      await cache.close();
      await open?.stop();
      await tokened.stop();
    }
  }, 120_000);
});
