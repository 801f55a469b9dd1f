/**
 * Crash safety: the server process is killed with SIGKILL at random points while it fills
 * blobs from a (throttled) real registry — before the first byte, mid-stream, around the
 * commit and index write — then restarted on the same data directory. Afterwards every blob
 * it serves matches its digest, and a full consistency check (re-hashing every stored blob)
 * finds nothing wrong.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createBlobStore } from '@regcache/blob-store';
import { pushBlob, startFaultProxy, startRegistry, tempDir, type FaultProxy, type RunningRegistry } from '@regcache/testkit';
import { runServer } from './spawn.js';

const MiB = 1024 * 1024;
const KILLS = 24;
const BLOBS = 12;

interface Blob {
  digest: string;
  size: number;
}

async function fetchHash(url: string, stopAfter?: number): Promise<{ digest: string; bytes: number } | undefined> {
  try {
    const res = await request(url, { headersTimeout: 30_000, bodyTimeout: 30_000 });
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of res.body) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (stopAfter !== undefined && bytes >= stopAfter) break;
    }
    return { digest: `sha256:${hash.digest('hex')}`, bytes };
  } catch {
    return undefined;
  }
}

describe('SIGKILL during fills', () => {
  let upstream: RunningRegistry;
  let proxy: FaultProxy;
  const blobs: Blob[] = [];
  beforeAll(async () => {
    upstream = await startRegistry();
    proxy = await startFaultProxy(upstream.url);
    for (let i = 0; i < BLOBS; i++) {
      const bytes = randomBytes((2 + (i % 4)) * MiB);
      blobs.push({ digest: await pushBlob(upstream, 'crash/blobs', bytes), size: bytes.length });
    }
    // ~0.3–0.6 s per fill, so kills land before, during and just after fills.
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 8 * MiB });
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });

  it(`survives ${KILLS} kills at random points with nothing corrupt served or stored`, async () => {
    const data = await tempDir('regcache-crash-');
    const args = ['--listen', '127.0.0.1:0', '--data', data, '--upstream', proxy.url];
    const kills: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const server = await runServer(args);
      const blob = blobs[i % BLOBS] as Blob;
      const url = `http://${server.address}/v2/crash/blobs/blobs/${blob.digest}`;
      // Two clients per round, one of which may leave early; the kill comes at a random moment.
      const clients = [fetchHash(url), fetchHash(url, Math.floor(Math.random() * blob.size))];
      const delay = Math.floor(Math.random() * 700);
      await new Promise((resolve) => setTimeout(resolve, delay));
      expect(await server.stop('SIGKILL')).toBeNull();
      kills.push(`${blob.digest.slice(7, 15)}@${delay}ms`);
      for (const got of await Promise.all(clients)) {
        // A client that got the whole blob got the right bytes.
        if (got && got.bytes === blob.size) expect(got.digest).toBe(blob.digest);
      }
    }
    expect(kills.length).toBe(KILLS);

    proxy.setFault({ kind: 'none' });
    const server = await runServer(args);
    let corrupt = 0;
    try {
      for (const blob of blobs) {
        const got = await fetchHash(`http://${server.address}/v2/crash/blobs/blobs/${blob.digest}`);
        if (got?.digest !== blob.digest) corrupt++;
      }
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    expect(corrupt).toBe(0);

    const store = await createBlobStore({ root: data });
    try {
      const report = await store.check({ rehash: true });
      expect(report.corrupt).toEqual([]);
      expect(report.missingFiles).toEqual([]);
      expect(report.unindexedFiles).toEqual([]);
      expect(report.tempFiles).toBe(0);
      let stored = 0;
      for await (const meta of store.blobs()) if (blobs.some((b) => b.digest === meta.digest)) stored++;
      expect(stored).toBe(BLOBS);
    } finally {
      await store.close();
    }
  }, 180_000);
});
