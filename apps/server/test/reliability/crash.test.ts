/**
 * Crash safety: the server process is killed with SIGKILL at random points while it fills
 * blobs from a (throttled) real registry, while it writes its index (manifests pulled by tag
 * with a zero TTL: tags, links, access data rewritten on every pull), and while gc evicts
 * through the admin socket — then restarted on the same data directory. Every body a client
 * received whole matched its digest; what each kill left on disk holds no wrong content (a
 * re-hash of the store as it lay, before the restart's repair); after a restart every pull is
 * digest-correct; and a full consistency check after a clean stop finds nothing.
 *
 * Scale: REGCACHE_KILLS kills (24 by default, 120 in the long suite).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlobStore, type ConsistencyReport } from '@regcache/blob-store';
import { pushBlob, pushSmallImage, reportFigures, scaled, startFaultProxy, startRegistry, tempDir, type FaultProxy, type RunningRegistry, type SmallImage } from '@regcache/testkit';
import { runServer } from '../spawn.js';
import { writeConfig } from './config-file.js';
import { MANIFEST_ACCEPT, startRound, type CrashBlob, type RoundKind } from './crash-rounds.js';
import { complete, hashedGet } from './hashed-get.js';

const MiB = 1024 * 1024;
const KILLS = scaled('KILLS', 24, 120);
const BLOBS = 12;
const KINDS: readonly RoundKind[] = ['fill', 'index', 'gc'];

async function checkStore(root: string, recover: boolean): Promise<ConsistencyReport> {
  const store = await createBlobStore({ root, recover });
  try {
    return await store.check({ rehash: true });
  } finally {
    await store.close();
  }
}

describe('SIGKILL during fills, index writes and gc', () => {
  let upstream: RunningRegistry;
  let proxy: FaultProxy;
  const blobs: CrashBlob[] = [];
  const images: SmallImage[] = [];
  beforeAll(async () => {
    upstream = await startRegistry();
    proxy = await startFaultProxy(upstream.url);
    for (let i = 0; i < BLOBS; i++) {
      const bytes = randomBytes((2 + (i % 4)) * MiB);
      blobs.push({ digest: await pushBlob(upstream, 'crash/blobs', bytes), size: bytes.length });
    }
    for (const name of ['crash/app', 'crash/tool']) images.push(await pushSmallImage(upstream, name, 'v1', 64 * 1024));
    // ~0.3–0.6 s per fill, so kills land before, during and just after fills.
    proxy.setFault({ kind: 'trickle', bytesPerSecond: 8 * MiB });
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });

  it(`survives ${KILLS} kills at random points with nothing corrupt served or stored`, async () => {
    const data = await tempDir('regcache-crash-');
    const config = await writeConfig({ listen: '127.0.0.1:0', storage: { path: data }, upstreams: [{ name: 'docker.io', url: proxy.url, tagTtl: '0s' }] });
    const kills: Record<RoundKind, number> = { fill: 0, index: 0, gc: 0 };
    let wholeBodies = 0;
    let wrongBodies = 0;
    let corruptOnDisk = 0;
    let repairable = 0;
    let evicted = 0;
    for (let i = 0; i < KILLS; i++) {
      const server = await runServer(['--config', config]);
      const kind = KINDS[i % KINDS.length] as RoundKind;
      const round = startRound(kind, `http://${server.address}`, blobs[i % BLOBS] as CrashBlob, images, data);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 700)));
      expect(await server.stop('SIGKILL')).toBeNull();
      kills[kind] += 1;
      for (const { expected, got } of await round.finished) {
        wholeBodies += 1;
        if (got.digest !== expected) wrongBodies += 1;
      }
      evicted += (await round.evicted) ?? 0;
      // What the kill left, before the restart repairs it: files may be missing or unindexed, never wrong.
      const asLeft = await checkStore(data, false);
      corruptOnDisk += asLeft.corrupt.length;
      repairable += asLeft.missingFiles.length + asLeft.unindexedFiles.length + asLeft.tempFiles;
    }
    expect(wrongBodies).toBe(0);
    expect(corruptOnDisk).toBe(0);

    proxy.setFault({ kind: 'none' });
    const server = await runServer(['--config', config]);
    let pulls = 0;
    let corruptServed = 0;
    try {
      const base = `http://${server.address}`;
      const wanted = [
        ...blobs.map((b) => ({ url: `${base}/v2/crash/blobs/blobs/${b.digest}`, digest: b.digest })),
        ...images.flatMap((image) => [
          { url: `${base}/v2/${image.name}/manifests/${image.tag}`, digest: image.digest },
          { url: `${base}/v2/${image.name}/manifests/${image.digest}`, digest: image.digest },
          ...image.blobs.map((digest) => ({ url: `${base}/v2/${image.name}/blobs/${digest}`, digest })),
        ]),
      ];
      for (const { url, digest } of wanted) {
        const got = await hashedGet(url, { headers: { accept: MANIFEST_ACCEPT } });
        pulls += 1;
        if (!complete(got) || got.digest !== digest) corruptServed += 1;
      }
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    const final = await checkStore(data, false);
    reportFigures('crash', {
      kills: KILLS,
      duringFills: kills.fill,
      duringIndexWrites: kills.index,
      duringGc: kills.gc,
      wholeBodiesDuringKills: wholeBodies,
      wrongBodies,
      blobsEvictedByGc: evicted,
      corruptOnDiskAfterKills: corruptOnDisk,
      leftoversRepairedAtRestart: repairable,
      pullsAfterRestart: pulls,
      corruptServed,
      corruptAfter: final.corrupt.length,
    });
    expect(corruptServed).toBe(0);
    expect({ corrupt: final.corrupt, missing: final.missingFiles, unindexed: final.unindexedFiles, temp: final.tempFiles }).toEqual({ corrupt: [], missing: [], unindexed: [], temp: 0 });
    expect(final.rehashed).toBeGreaterThanOrEqual(BLOBS);
  }, 60_000 + KILLS * 3_000);
});
