/**
 * Crash safety: the server process is killed with SIGKILL at random points while it fills
 * blobs from a (throttled) real registry, while it writes its index (manifests pulled by tag
 * with a zero TTL: tags, links, access data rewritten on every pull), and while gc evicts
 * through the admin socket — then restarted on the same data directory. Every body a client
 * received whole matched its digest; what each kill left on disk holds no wrong content (a
 * re-hash of the store as it lay, before the restart's repair); after a restart every pull is
 * digest-correct; and a full consistency check after a clean stop (`regcache-admin verify`, and
 * the store's own re-hash) finds nothing.
 *
 * Scale: REGCACHE_KILLS kills (24 by default, 120 in the long suite).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushBlob, pushSmallImage, reportFigures, scaled, startFaultProxy, startRegistry, tempDir, type FaultProxy, type RunningRegistry, type SmallImage } from '@regcache/testkit';
import { runServer } from '../spawn.js';
import { runCli } from './admin-cli.js';
import { writeConfig } from './config-file.js';
import { checkStore, killRounds, pullEverything, type CrashBlob } from './crash-rounds.js';

const MiB = 1024 * 1024;
const KILLS = scaled('KILLS', 24, 120);
const BLOBS = 12;

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
    const dataDir = await tempDir('regcache-crash-');
    const config = await writeConfig({ listen: '127.0.0.1:0', storage: { path: dataDir }, upstreams: [{ name: 'docker.io', url: proxy.url, tagTtl: '0s' }] });
    const tally = await killRounds({ config, dataDir, kills: KILLS, blobs, images });
    expect(tally.wrongBodies).toBe(0);
    expect(tally.corruptOnDisk).toBe(0);

    proxy.setFault({ kind: 'none' });
    const server = await runServer(['--config', config]);
    let after: { pulls: number; wrong: number };
    try {
      after = await pullEverything(`http://${server.address}`, blobs, images);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    // The operator's check agrees: regcache-admin verify re-hashes everything and finds nothing.
    const verify = await runCli(['verify', '--config', config]);
    expect(verify.code, verify.text).toBe(0);
    expect(verify.text).toContain('verify: ok, every blob matches its digest');
    const final = await checkStore(dataDir, false);
    reportFigures('crash', {
      kills: KILLS,
      duringFills: tally.kills.fill,
      duringIndexWrites: tally.kills.index,
      duringGc: tally.kills.gc,
      wholeBodiesDuringKills: tally.wholeBodies,
      wrongBodies: tally.wrongBodies,
      blobsEvictedByGc: tally.blobsEvicted,
      corruptOnDiskAfterKills: tally.corruptOnDisk,
      leftoversRepairedAtRestart: tally.leftovers,
      pullsAfterRestart: after.pulls,
      corruptServed: after.wrong,
      corruptAfter: final.corrupt.length,
    });
    expect(after.wrong).toBe(0);
    expect({ corrupt: final.corrupt, missing: final.missingFiles, unindexed: final.unindexedFiles, temp: final.tempFiles }).toEqual({ corrupt: [], missing: [], unindexed: [], temp: 0 });
    expect(final.rehashed).toBeGreaterThanOrEqual(BLOBS);
  }, 60_000 + KILLS * 3_000);
});
