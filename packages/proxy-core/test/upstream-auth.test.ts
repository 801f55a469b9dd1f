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
  const cache = await startCache({
    upstreams: [
      {
        name: 'docker.io',
        url: upstream.url,
        ...(withCredentials ? { username: 'puller', password: 's3cret-pass' } : {}),
      },
    ],
  });
  stops.push(() => cache.close());
  return { upstream, cache };
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

  it('answers UNAUTHORIZED (401, OCI body) when regcache has no credentials', async () => {
    const { upstream, cache } = await setup(auth, false);
    const images = await seedImages(upstream, { prefix: `noauth-${auth}` });
    const res = await fetch(`${cache.url}/v2/${images.oci.name}/manifests/${images.oci.tag}`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { errors: Array<{ code: string }> };
    expect(body.errors[0]?.code).toBe('UNAUTHORIZED');
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
