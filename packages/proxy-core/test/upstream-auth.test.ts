/**
 * Pulls through upstreams that demand credentials: a real registry with Basic auth
 * (htpasswd, bcrypt), and a real registry with Docker's token auth backed by a small token
 * server. regcache answers the upstream's challenge itself; the client sends nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { seedImages, skopeoPull, startRegistry, type RunningRegistry } from '@regcache/testkit';
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
