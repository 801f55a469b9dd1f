/**
 * containerd (Debian's 1.6, run as root with its own root/state/socket) pulling through
 * regcache with a `hosts.toml` mirror, the way Kubernetes nodes use a pull-through cache:
 * every request carries `?ns=<registry>`, regcache routes by it, and containerd verifies
 * and unpacks what it gets. A second pull after the image is deleted from containerd, with
 * the upstream stopped, is served by regcache alone.
 *
 * The last test replays the exact requests containerd 1.6 sent (paths, `ns=`, Accept) with
 * plain fetch, so the protocol stays checked by a test that needs no containerd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedImages, startRegistry, type RunningRegistry, type TestImage } from '@regcache/testkit';
import { startContainerd, type RunningContainerd } from './containerd.js';
import { startCache, type RunningCache } from './helpers.js';
import { listen, pushTinyImage, type Listener, type TinyImage } from './images.js';

interface Seen {
  method: string;
  url: string;
  accept: string | undefined;
}

/** What containerd 1.6.20 sends, recorded from a real `ctr images pull` through a mirror. */
const CONTAINERD_RESOLVE_ACCEPT =
  'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*';
const fetchAccept = (mediaType: string): string => `${mediaType}, */*`;

describe('containerd pulling through a hosts.toml mirror', () => {
  let upstream: RunningRegistry;
  let images: { docker: TestImage; multiArch: TestImage };
  let hubImage: TinyImage;
  let cache: RunningCache;
  let front: Listener;
  let containerd: RunningContainerd;
  const seen: Seen[] = [];

  beforeAll(async () => {
    upstream = await startRegistry();
    const seeded = await seedImages(upstream, { prefix: 'ctr' });
    images = { docker: seeded.docker, multiArch: seeded.multiArch };
    hubImage = await pushTinyImage(upstream, 'library/tiny', '1');
    // docker.io stands in for Docker Hub: any upstream named docker.io is treated as Hub.
    cache = await startCache({ upstreams: [{ name: 'alpha.test', url: upstream.url }, { name: 'docker.io', url: upstream.url }] });
    // A recording listener in front of regcache: what containerd really sent.
    front = await listen((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', accept: req.headers.accept });
      void cache.cache.handler(req, res);
    });
    containerd = await startContainerd();
    await containerd.mirror('alpha.test', front.url);
    await containerd.mirror('docker.io', front.url);
  }, 120_000);

  afterAll(async () => {
    await containerd?.stop();
    await front?.close();
    await cache?.close();
    await upstream?.stop();
  });

  const pull = (ref: string) => containerd.ctr(['images', 'pull', '--hosts-dir', containerd.hostsDir, '--plain-http', '--snapshotter', 'native', ref]);
  const imageDigest = async (ref: string): Promise<string | undefined> => {
    const listed = await containerd.ctr(['images', 'ls']);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(`${ref} `));
    return line?.split(/\s+/)[2];
  };

  it('pulls and unpacks a multi-arch image by tag; every request names its registry with ns=', async () => {
    const ref = `alpha.test/${images.multiArch.name}:${images.multiArch.tag}`;
    const pulled = await pull(ref);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stdout).toContain('unpacking linux/amd64');
    expect(await imageDigest(ref)).toBe(images.multiArch.digest);
    expect(seen.length).toBeGreaterThan(3);
    for (const request of seen) expect(request.url).toMatch(/\?ns=alpha\.test$/);
    expect(seen[0]).toEqual({ method: 'HEAD', url: `/v2/${images.multiArch.name}/manifests/v1?ns=alpha.test`, accept: CONTAINERD_RESOLVE_ACCEPT });
    const amd64 = images.multiArch.children?.find((c) => c.platform?.architecture === 'amd64');
    for (const blob of amd64?.blobs ?? []) {
      expect(seen.some((s) => s.method === 'GET' && s.url === `/v2/${images.multiArch.name}/blobs/${blob.digest}?ns=alpha.test`)).toBe(true);
    }
  }, 60_000);

  it('pulls docker.io/library images with ns=docker.io', async () => {
    const pulled = await pull('docker.io/library/tiny:1');
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(await imageDigest('docker.io/library/tiny:1')).toBe(hubImage.digest);
    expect(seen.some((s) => s.url === '/v2/library/tiny/manifests/1?ns=docker.io')).toBe(true);
  }, 60_000);

  it('pulls again from regcache alone after containerd forgot the image and the upstream stopped', async () => {
    const ref = `alpha.test/${images.multiArch.name}:${images.multiArch.tag}`;
    const removed = await containerd.ctr(['images', 'rm', '--sync', ref]);
    expect(removed.code, removed.stderr).toBe(0);
    await upstream.stop();
    const before = seen.length;
    try {
      const pulled = await pull(ref);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(await imageDigest(ref)).toBe(images.multiArch.digest);
      // containerd's content store was emptied by `rm --sync`: the layers came from regcache again.
      expect(seen.slice(before).filter((s) => s.method === 'GET' && s.url.includes('/blobs/')).length).toBeGreaterThan(0);
    } finally {
      await upstream.start();
    }
  }, 60_000);

  it('answers containerd 1.6’s exact request sequence (replayed without containerd)', async () => {
    const image = images.docker;
    const base = `${cache.url}/v2/${image.name}`;
    const head = await fetch(`${base}/manifests/${image.tag}?ns=alpha.test`, { method: 'HEAD', headers: { accept: CONTAINERD_RESOLVE_ACCEPT } });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(image.digest);
    expect(head.headers.get('content-type')).toBe(image.mediaType);
    const manifest = await fetch(`${base}/manifests/${image.digest}?ns=alpha.test`, { headers: { accept: fetchAccept(image.mediaType) } });
    expect(manifest.status).toBe(200);
    expect(Buffer.from(await manifest.arrayBuffer())).toEqual(image.manifest);
    for (const blob of image.blobs) {
      const res = await fetch(`${base}/blobs/${blob.digest}?ns=alpha.test`, { headers: { accept: fetchAccept(blob.mediaType ?? '') } });
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(blob.digest);
      expect((await res.arrayBuffer()).byteLength).toBe(blob.size);
    }
  });
});
