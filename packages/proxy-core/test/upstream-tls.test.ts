/**
 * An https:// upstream, as Docker Hub, ghcr.io and most private registries are: the real
 * registry behind testkit's TLS front, whose certificate comes from a test CA. With the CA in
 * the upstream's `ca`, skopeo pulls through regcache with every digest intact and each blob
 * crosses TLS once; without it, regcache refuses the upstream's certificate — a 503 naming the
 * upstream, the reason in its log, nothing asked of the registry and nothing cached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushSmallImage, skopeoPull, startRegistry, startTlsFront, TEST_CA_PEM, type RunningRegistry, type SmallImage, type TlsFront } from '@regcache/testkit';
import { startCache, type RunningCache } from './helpers.js';

const MiB = 1024 * 1024;

describe('an https:// upstream', () => {
  let upstream: RunningRegistry;
  let front: TlsFront;
  let image: SmallImage;
  let trusted: RunningCache;
  let untrusted: RunningCache;

  beforeAll(async () => {
    upstream = await startRegistry();
    // A layer of a few MiB: its fill streams over TLS in many reads, not one.
    image = await pushSmallImage(upstream, 'tls/app', 'v1', 6 * MiB);
    front = await startTlsFront(upstream.url);
    trusted = await startCache({ upstreams: [{ name: 'docker.io', url: front.url, ca: TEST_CA_PEM }] });
    untrusted = await startCache({ upstreamUrl: front.url });
  }, 60_000);

  afterAll(async () => {
    await trusted?.close();
    await untrusted?.close();
    await front?.stop();
    await upstream?.stop();
  });

  it('pulls through TLS with the upstream CA trusted: every digest intact, each blob fetched once', async () => {
    upstream.resetRequests();
    const first = await skopeoPull(`${trusted.host}/tls/app:v1`);
    expect(first.code, first.stderr).toBe(0);
    expect(first.manifestDigest).toBe(image.digest);
    expect(first.blobDigests.sort()).toEqual([...image.blobs].sort());
    const again = await skopeoPull(`${trusted.host}/tls/app@${image.digest}`);
    expect(again.code, again.stderr).toBe(0);
    await upstream.settle();
    for (const blob of image.blobs) expect(upstream.countRequests('GET', `/v2/tls/app/blobs/${blob}`), blob).toBe(1);
    expect(front.connections()).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('refuses the certificate without the CA: 503 naming the upstream, the reason logged, nothing cached', async () => {
    upstream.resetRequests();
    const res = await fetch(`${untrusted.url}/v2/tls/app/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { errors: Array<{ code: string; message: string }> };
    expect(body.errors[0]?.code).toBe('UNAVAILABLE');
    expect(body.errors[0]?.message).toContain('docker.io');
    await upstream.settle();
    expect(upstream.requests()).toEqual([]);
    // The reason is the operator's (the request's log line), not the client's.
    const record = untrusted.logs.find((l) => l.msg === 'request' && l.status === 503);
    expect(record?.error, JSON.stringify(untrusted.logs)).toMatch(/^upstream docker\.io unavailable \(unreachable\): .*certificate/);
    expect(body.errors[0]?.message).not.toMatch(/certificate/);
    expect(await untrusted.cache.store.stat(image.blobs[0] as never)).toBeUndefined();
  });
});
