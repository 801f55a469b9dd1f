/**
 * An embedder's `close()`: from then on every request to the handler is answered UNAVAILABLE
 * (503, "regcache is shut down") — even a manifest the hot table could replay from memory, whose
 * blobs the closed store could no longer serve — and the upstream is not asked.
 */
import { describe, expect, it } from 'vitest';
import { MediaTypes, startRegistry } from '@regcache/testkit';
import { startCache } from './helpers.js';
import { httpPull, pushTinyImage } from './images.js';

/** What httpPull sends: the same Accept is what the hot table replays. */
const PULL_ACCEPT = [MediaTypes.ociManifest, MediaTypes.dockerManifest, MediaTypes.ociIndex, MediaTypes.dockerManifestList].join(', ');

describe('a cache after close()', () => {
  it('answers every request UNAVAILABLE, hot manifests too, and asks no upstream', async () => {
    const upstream = await startRegistry();
    const cache = await startCache({ upstreamUrl: upstream.url });
    try {
      const image = await pushTinyImage(upstream, 'closed/app', 'v1');
      const other = await pushTinyImage(upstream, 'closed/other', 'v1');
      // Twice: the second answer is a replay from the hot table (the first fills it).
      for (let i = 0; i < 2; i++) expect((await httpPull(cache.url, 'closed/app', 'v1')).digest).toBe(image.digest);
      await cache.cache.close();
      await upstream.settle();
      const asked = upstream.requests().length;
      const paths = [
        '/v2/closed/app/manifests/v1',
        `/v2/closed/app/manifests/${image.digest}`,
        `/v2/closed/app/blobs/${image.blobs[0]}`,
        '/v2/closed/other/manifests/v1',
        `/v2/closed/other/blobs/${other.blobs[0]}`,
        '/v2/',
      ];
      for (const path of paths) {
        for (const method of ['GET', 'HEAD']) {
          const res = await fetch(`${cache.url}${path}`, { method, headers: { accept: PULL_ACCEPT } });
          const body = method === 'GET' ? ((await res.json()) as { errors: Array<{ code: string; message: string }> }).errors[0] : undefined;
          expect([method, path, res.status, body]).toEqual([method, path, 503, method === 'GET' ? { code: 'UNAVAILABLE', message: 'regcache is shut down' } : undefined]);
        }
      }
      await upstream.settle();
      expect(upstream.requests().length).toBe(asked);
    } finally {
      await cache.close();
      await upstream.stop();
    }
  }, 60_000);
});
