/**
 * One regcache in front of two real registries — `alpha.test` (plain, the default) and
 * `beta.test` (token auth, regcache holding the credentials) — which both hold
 * `shared/app:1` with different content, so every pull shows which upstream answered.
 * Routed, in order of precedence, by `?ns=`, by path prefix, by Host (a second listener whose
 * `host:port` is mapped to beta.test in config, and the name `beta.test` itself), else to the default. Pulls are skopeo's
 * (which cannot send `ns=`) or plain HTTP with every digest checked. An unknown `ns` is
 * NAME_UNKNOWN with no request anywhere.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_MEDIA_TYPES } from '@regcache/registry-protocol';
import { freePort, skopeoPull, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';
import { httpPull, listen, pushTinyImage, served, type Listener, type TinyImage } from './images.js';

describe('one regcache, two upstreams', () => {
  let alpha: RunningRegistry;
  let beta: RunningRegistry;
  let onAlpha: TinyImage;
  let onBeta: TinyImage;
  let hubTiny: TinyImage;
  let cache: RunningCache;
  let betaHost: Listener;

  beforeAll(async () => {
    [alpha, beta] = await Promise.all([startRegistry(), startRegistry({ auth: 'token' })]);
    [onAlpha, onBeta, hubTiny] = await Promise.all([
      pushTinyImage(alpha, 'shared/app', '1'),
      pushTinyImage(beta, 'shared/app', '1'),
      pushTinyImage(alpha, 'library/tiny', '1'),
    ]);
    const betaPort = await freePort();
    const creds = beta.credentials ?? { username: '', password: '' };
    cache = await startCache({
      upstreams: [
        { name: 'alpha.test', url: alpha.url, default: true },
        { name: 'beta.test', url: beta.url, username: creds.username, password: creds.password, hosts: [`127.0.0.1:${betaPort}`, 'Beta.Test'] },
        { name: 'docker.io', url: alpha.url },
      ],
    });
    betaHost = await listen((req, res) => void cache.cache.handler(req, res), betaPort);
    alpha.resetRequests();
    beta.resetRequests();
  }, 120_000);

  afterAll(async () => {
    await betaHost?.close();
    await cache?.close();
    await Promise.all([alpha?.stop(), beta?.stop()]);
  });

  async function expectSkopeo(ref: string, image: TinyImage): Promise<void> {
    const pulled = await skopeoPull(ref);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.manifestDigest).toBe(image.digest);
    for (const blob of image.blobs) expect(pulled.blobDigests).toContain(blob);
  }

  it('routes by path prefix: /v2/<upstream>/<name>', async () => {
    await expectSkopeo(`${cache.host}/alpha.test/shared/app:1`, onAlpha);
    await expectSkopeo(`${cache.host}/beta.test/shared/app:1`, onBeta);
    await Promise.all([alpha.settle(), beta.settle()]);
    expect(served(alpha, 'GET', '/v2/shared/app/manifests/1')).toBe(1);
    expect(served(beta, 'GET', '/v2/shared/app/manifests/1')).toBe(1);
    expect(served(alpha, 'GET', /\/blobs\//) + served(beta, 'GET', /\/blobs\//)).toBe(4);
  }, 60_000);

  it('routes by Host, and falls back to the default upstream', async () => {
    await expectSkopeo(`${betaHost.host}/shared/app:1`, onBeta);
    await expectSkopeo(`${cache.host}/shared/app:1`, onAlpha);
  }, 60_000);

  it('routes a Host in any case, with any port and with the root\'s dot as its configured name', async () => {
    for (const host of ['beta.test', 'BETA.test.', 'beta.test.:5000', 'beta.test:5000']) {
      const res = await request(`${cache.url}/v2/shared/app/manifests/1`, { headers: { host, accept: MANIFEST_MEDIA_TYPES.join(', ') } });
      await res.body.dump();
      expect([host, res.headers['docker-content-digest']]).toEqual([host, onBeta.digest]);
    }
  });

  it('routes by ?ns=, which wins over Host', async () => {
    expect(await httpPull(cache.url, 'shared/app', '1', { ns: 'beta.test' })).toMatchObject({ status: 200, digest: onBeta.digest, blobs: onBeta.blobs });
    expect(await httpPull(betaHost.url, 'shared/app', '1', { ns: 'alpha.test' })).toMatchObject({ status: 200, digest: onAlpha.digest, blobs: onAlpha.blobs });
  });

  it('gives docker.io one-component names their library/ namespace', async () => {
    await expectSkopeo(`${cache.host}/docker.io/tiny:1`, hubTiny);
    expect(await httpPull(cache.url, 'tiny', '1', { ns: 'docker.io' })).toMatchObject({ status: 200, digest: hubTiny.digest });
  }, 60_000);

  it('keys tags by upstream', async () => {
    const store = cache.cache.store;
    expect((await store.getTag('alpha.test', 'shared/app', '1'))?.digest).toBe(onAlpha.digest);
    expect((await store.getTag('beta.test', 'shared/app', '1'))?.digest).toBe(onBeta.digest);
  });

  it('answers an unknown ns= with NAME_UNKNOWN and asks no upstream', async () => {
    await Promise.all([alpha.settle(), beta.settle()]);
    const before = alpha.requests().length + beta.requests().length;
    const res = await fetch(`${cache.url}/v2/shared/app/manifests/1?ns=gamma.test`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: Array<{ code: string; message: string }> }).errors[0]).toMatchObject({
      code: 'NAME_UNKNOWN',
      message: expect.stringContaining('gamma.test'),
    });
    await Promise.all([alpha.settle(), beta.settle()]);
    expect(alpha.requests().length + beta.requests().length).toBe(before);
  });
});
