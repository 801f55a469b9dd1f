/**
 * regcache embedded in Express, Fastify and Koa, mounted as examples/embed-frameworks.mjs shows
 * (and the README quotes): each app keeps its own route, skopeo pulls a real image through it
 * cold and then warm (no blob fetched again), and the registry's own answers come through the
 * framework unchanged — a HEAD by tag, a 400 NAME_INVALID, a push refused with 405 UNSUPPORTED
 * (not the framework's 404 or 415).
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaTypes, pushSmallImage, skopeoPull, startRegistry, tempDir, type RunningRegistry, type SmallImage } from '@regcache/testkit';
import { expressRegistry, fastifyRegistry, koaRegistry } from '../../../examples/embed-frameworks.mjs';
import { createRegistryCache, parseConfig, type RegistryCache } from '../src/index.js';

interface App {
  url: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  if (!server.listening) await once(server.listen(0, '127.0.0.1'), 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const OWN_ROUTE = 'my service is fine';

const FRAMEWORKS: Record<string, (cache: RegistryCache) => Promise<App>> = {
  async express(cache) {
    const app = express();
    app.get('/healthz', (_req, res) => void res.send(OWN_ROUTE));
    app.use(expressRegistry(cache));
    const server = app.listen(0, '127.0.0.1');
    return { url: await listen(server), close: () => closeServer(server) };
  },
  async fastify(cache) {
    const app = Fastify();
    app.get('/healthz', async () => OWN_ROUTE);
    await app.register(fastifyRegistry(cache));
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: address, close: () => app.close() };
  },
  async koa(cache) {
    const app = new Koa();
    app.use(koaRegistry(cache));
    app.use((ctx) => {
      if (ctx.path === '/healthz') ctx.body = OWN_ROUTE;
    });
    const server = app.listen(0, '127.0.0.1');
    return { url: await listen(server), close: () => closeServer(server) };
  },
};

it('the README shows examples/embed-frameworks.mjs verbatim', async () => {
  const root = new URL('../../../', import.meta.url);
  const [readme, code] = await Promise.all([readFile(new URL('README.md', root), 'utf8'), readFile(new URL('examples/embed-frameworks.mjs', root), 'utf8')]);
  expect(/<!-- embed-frameworks:start -->\n```js\n([\s\S]*?)```\n<!-- embed-frameworks:end -->/.exec(readme)?.[1]).toBe(code);
});

describe.each(Object.keys(FRAMEWORKS))('embedded in %s', (framework) => {
  let upstream: RunningRegistry;
  let image: SmallImage;
  let cache: RegistryCache;
  let app: App;

  beforeAll(async () => {
    upstream = await startRegistry();
    image = await pushSmallImage(upstream, `embed/${framework}`, 'v1', 3 * 1024 * 1024);
    const config = parseConfig({ storage: { path: await tempDir(`regcache-${framework}-`) }, upstreams: [{ name: 'docker.io', url: upstream.url }] });
    cache = await createRegistryCache(config);
    app = await (FRAMEWORKS[framework] as (cache: RegistryCache) => Promise<App>)(cache);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await cache?.close();
    await upstream?.stop();
  });

  it('keeps its own route, and skopeo pulls through it cold and then warm', async () => {
    expect(await (await fetch(`${app.url}/healthz`)).text()).toBe(OWN_ROUTE);
    const host = new URL(app.url).host;
    for (const round of ['cold', 'warm']) {
      upstream.resetRequests();
      const pulled = await skopeoPull(`${host}/${image.name}:${image.tag}`);
      expect(pulled.code, `${round}: ${pulled.stderr}`).toBe(0);
      await upstream.settle();
      const blobGets = image.blobs.reduce((sum, digest) => sum + upstream.countRequests('GET', `/v2/${image.name}/blobs/${digest}`), 0);
      expect(blobGets, round).toBe(round === 'cold' ? image.blobs.length : 0);
    }
  }, 60_000);

  it("passes the registry's own answers through unchanged", async () => {
    const head = await fetch(`${app.url}/v2/${image.name}/manifests/${image.tag}`, { method: 'HEAD', headers: { accept: MediaTypes.ociManifest } });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(image.digest);

    const bad = await fetch(`${app.url}/v2/BAD/manifests/v1`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errors: [{ code: 'NAME_INVALID' }] });

    const push = await fetch(`${app.url}/v2/${image.name}/manifests/v2`, { method: 'PUT', headers: { 'content-type': MediaTypes.ociManifest }, body: '{"schemaVersion":2}' });
    expect(push.status).toBe(405);
    expect(await push.json()).toMatchObject({ errors: [{ code: 'UNSUPPORTED' }] });

    const ping = await fetch(`${app.url}/v2/`);
    expect(ping.status).toBe(200);
    expect(ping.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });
});
