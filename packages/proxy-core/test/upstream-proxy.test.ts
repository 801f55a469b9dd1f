/**
 * An upstream behind an HTTP proxy, as in a corporate network whose only way out is squid:
 * testkit's forward proxy in front of the real registry. An https:// upstream (the registry
 * behind the TLS front) is reached through a CONNECT tunnel, with TLS to the upstream inside
 * it; an http:// one through absolute-form requests (blobs too: the pooled direct reader
 * stands aside). Either way skopeo pulls through regcache with every digest intact, each blob
 * fetched once — and the proxy's log shows that it carried the traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushSmallImage, skopeoPull, startForwardProxy, startRegistry, startTlsFront, TEST_CA_PEM, type ForwardProxy, type RunningRegistry, type SmallImage, type TlsFront } from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';

const MiB = 1024 * 1024;

describe('an upstream behind an HTTP proxy', () => {
  let upstream: RunningRegistry;
  let front: TlsFront;
  let proxy: ForwardProxy;
  let image: SmallImage;
  const caches: RunningCache[] = [];

  beforeAll(async () => {
    upstream = await startRegistry();
    image = await pushSmallImage(upstream, 'proxied/app', 'v1', 3 * MiB);
    front = await startTlsFront(upstream.url);
    proxy = await startForwardProxy();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    await proxy?.stop();
    await front?.stop();
    await upstream?.stop();
  });

  async function pullThrough(cache: RunningCache): Promise<void> {
    caches.push(cache);
    upstream.resetRequests();
    const pulled = await skopeoPull(`${cache.host}/proxied/app:v1`);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.manifestDigest).toBe(image.digest);
    expect(pulled.blobDigests.sort()).toEqual([...image.blobs].sort());
    await upstream.settle();
    for (const blob of image.blobs) expect(upstream.countRequests('GET', `/v2/proxied/app/blobs/${blob}`), blob).toBe(1);
  }

  it('reaches an https:// upstream through a CONNECT tunnel, trusting the upstream CA inside it', async () => {
    const before = proxy.calls().length;
    const cache = await startCache({ upstreams: [{ name: 'docker.io', url: front.url, ca: TEST_CA_PEM, proxy: proxy.url }] });
    await pullThrough(cache);
    // `regcache-admin upstreams` names the proxy by its host, and reaches the upstream through it.
    expect(await cache.cache.operations.upstreams()).toEqual([expect.objectContaining({ name: 'docker.io', ok: true, status: 200, via: new URL(proxy.url).host, ownCa: true })]);
    const calls = proxy.calls().slice(before);
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.every((c) => c.method === 'CONNECT' && c.target === front.host), JSON.stringify(calls)).toBe(true);
  }, 60_000);

  it('reaches an http:// upstream through absolute-form requests, blobs included', async () => {
    const before = proxy.calls().length;
    await pullThrough(await startCache({ upstreams: [{ name: 'docker.io', url: upstream.url, proxy: proxy.url }] }));
    const targets = proxy.calls().slice(before).map((c) => `${c.method} ${c.target}`);
    expect(targets).toContain(`GET ${upstream.url}/v2/proxied/app/manifests/v1`);
    for (const blob of image.blobs) expect(targets).toContain(`GET ${upstream.url}/v2/proxied/app/blobs/${blob}`);
  }, 60_000);
});
