/**
 * Load on the real server: 500 keep-alive connections for 30 s (60 s in the long suite) on a
 * mix of cached blobs, manifests by tag and by digest, and HEADs of both — while a 24 MiB blob
 * is being filled from a trickling upstream and followed by clients. Zero errors (every status
 * right, every body re-hashed); every connection opened once and kept; RSS flat after the
 * warm-up (the first two thirds of the run, at most 20 s): the median of its last 5 one-second
 * samples at most 64 MiB above the median of the 5 after the warm-up; the fill's
 * clients get the right bytes; and once the clients close, the server's file descriptors are
 * back to the baseline (its keep-alive connection to the upstream aside).
 *
 * This test process is also the server's log reader, and a slow one while it drives 500
 * connections: the server's backlog of request lines is what grew RSS here (the
 * live heap after a full GC rose 0.6 MiB/s, all of it pending log text) until log lines beyond
 * `log.maxBuffer` were dropped and counted (log-destination.ts, log-backlog.test.ts).
 *
 * Scale: REGCACHE_LOAD_SECONDS, REGCACHE_LOAD_CONNECTIONS, REGCACHE_LOAD_PAUSE_MS (each
 * client's pause between requests).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { pushBlob, pushSmallImage, reportFigures, scaled, startFaultProxy, startRegistry, tempDir, type FaultProxy, type RunningRegistry } from '@regcache/testkit';
import { runServer, type ServerProcess } from '../spawn.js';
import { complete, hashedGet, type Hashed } from '@regcache/testkit';
import { runLoad, type LoadTarget } from './load-clients.js';
import { countFds, median, rssMiB, sampleProcess } from './process-stats.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SECONDS = scaled('LOAD_SECONDS', 30, 60);
const CONNECTIONS = scaled('LOAD_CONNECTIONS', 500, 500);
const PAUSE_MS = scaled('LOAD_PAUSE_MS', 20, 5);
/**
 * RSS is compared after the first two thirds of the run, at most 20 s: V8 grows its old space
 * in steps of 20–30 MiB over the first ≈ 20 s of this load (a 30 MiB live heap, ≈ 120 MiB of
 * old space once settled), and two steps inside the measured window are not a leak.
 */
const WARM_UP_S = Math.min(20, Math.floor((SECONDS * 2) / 3));
/**
 * RSS ratchets: glibc and V8 keep what a peak took, so it grows in 15–30 MiB steps over the
 * first ≈ 30–45 s of this load whatever the young generation's size (1, 4 or 16 MiB alike)
 * and settles at 250–320 MiB. Two steps may fall inside the window (36 MiB seen), so this
 * bound catches gross leaks (> ≈ 6 MiB/s) only; a slow one like the log backlog (0.6 MiB/s)
 * is for a test of its own (log-backlog.test.ts).
 */
const RSS_GROWTH_BOUND_MIB = 64;
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json';

/** Three clients on the blob being filled (one joining late), on a connection pool of their own. */
async function followFill(url: string): Promise<Hashed[]> {
  const agent = new Agent();
  try {
    return await Promise.all([hashedGet(url, { agent }), hashedGet(url, { agent }), sleep(2000).then(() => hashedGet(url, { agent }))]);
  } finally {
    await agent.close();
  }
}

/** Descriptors other than connections to the upstream. */
async function ownFds(pid: number, upstreamPort: number): Promise<number> {
  const fds = await countFds(pid, [upstreamPort]);
  return fds.total - fds.toPorts;
}

describe(`load: ${CONNECTIONS} keep-alive connections for ${SECONDS} s with a fill in progress`, () => {
  let upstream: RunningRegistry;
  let proxy: FaultProxy;
  let server: ServerProcess;
  const targets: LoadTarget[] = [];
  let filling: string;
  const fillSize = 24 * MiB;

  beforeAll(async () => {
    upstream = await startRegistry();
    proxy = await startFaultProxy(upstream.url);
    server = await runServer(['--listen', '127.0.0.1:0', '--data', await tempDir('load-data'), '--upstream', proxy.url], {}, { keepLogs: false });
    for (const size of [16 * KiB, 64 * KiB, 200 * KiB, 512 * KiB]) {
      const digest = await pushBlob(upstream, 'load/blobs', randomBytes(size));
      targets.push({ path: `/v2/load/blobs/blobs/${digest}`, method: 'GET', digest }, { path: `/v2/load/blobs/blobs/${digest}`, method: 'HEAD', digest });
    }
    for (const name of ['load/app', 'load/tool', 'load/base']) {
      const image = await pushSmallImage(upstream, name, 'v1', 8 * KiB);
      for (const path of [`/v2/${name}/manifests/v1`, `/v2/${name}/manifests/${image.digest}`]) {
        targets.push({ path, method: 'GET', digest: image.digest, accept: ACCEPT }, { path, method: 'HEAD', digest: image.digest, accept: ACCEPT });
      }
      for (const digest of image.blobs) targets.push({ path: `/v2/${name}/blobs/${digest}`, method: 'GET', digest });
    }
    // Everything the load asks for is cached before it starts (and checked once); that client's connection is closed.
    // Twice: the second pass is served as hits, so the blobs' descriptors that the store keeps open
    // between reads (blob-store open-files.ts) are in the baseline the end of the test compares with.
    const warm = new Agent();
    for (let pass = 0; pass < 2; pass += 1) {
      for (const t of targets) expect(complete(await hashedGet(`http://${server.address}${t.path}`, { agent: warm, headers: t.accept ? { accept: t.accept } : {} })) || t.method === 'HEAD').toBe(true);
    }
    await warm.close();
    filling = await pushBlob(upstream, 'load/big', randomBytes(fillSize));
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await proxy?.stop();
    await upstream?.stop();
  });

  it('holds with 0 errors, flat RSS, the fill correct, and descriptors back to the baseline', async () => {
    const pid = server.child.pid as number;
    const proxyPort = Number(proxy.host.split(':')[1]);
    const fdsBefore = await countFds(pid, [proxyPort]);
    const rssStart = await rssMiB(pid);
    // The fill takes most of the load's time: the upstream trickles it.
    proxy.setFault({ kind: 'trickle', bytesPerSecond: Math.ceil(fillSize / (SECONDS * 0.7)) });
    const fills = followFill(`http://${server.address}/v2/load/big/blobs/${filling}`);
    const sampler = sampleProcess(pid);
    const load = await runLoad(server.address, targets, { connections: CONNECTIONS, seconds: SECONDS, pauseMs: PAUSE_MS });
    const { rss, peakFds } = sampler.stop();
    const filled = await fills;
    proxy.setFault({ kind: 'none' });
    // Growth: the median of the last 5 samples against the median of the 5 after warm-up (one GC's lag is not growth).
    const rssAtWarmUp = median(rss.slice(WARM_UP_S, WARM_UP_S + 5));
    const growth = median(rss.slice(-5)) - rssAtWarmUp;
    await expect.poll(() => ownFds(pid, proxyPort), { timeout: 10_000 }).toBeLessThanOrEqual(fdsBefore.total - fdsBefore.toPorts);
    const fdsAfter = await countFds(pid, [proxyPort]);
    reportFigures('load', {
      connections: CONNECTIONS,
      seconds: SECONDS,
      connectionsOpened: load.connectionsOpened,
      requests: load.requests,
      requestsPerSecond: Math.round(load.requests / SECONDS),
      errors: load.errors,
      rssStartMiB: rssStart.toFixed(1),
      rssAfterWarmUpMiB: rssAtWarmUp.toFixed(1),
      rssMaxMiB: Math.max(...rss).toFixed(1),
      rssEndMiB: (rss[rss.length - 1] ?? Number.NaN).toFixed(1),
      rssGrowthAfterWarmUpMiB: growth.toFixed(1),
      rssSeriesMiB: rss.map((r) => r.toFixed(0)).join(','),
      fdsStart: fdsBefore.total,
      fdsPeak: peakFds,
      fdsEnd: fdsAfter.total,
      upstreamSocketsEnd: fdsAfter.toPorts,
    });
    expect(load.firstErrors).toEqual([]);
    expect(load.errors).toBe(0);
    // Every connection was opened once and kept alive throughout.
    expect(load.connectionsOpened).toBe(CONNECTIONS);
    expect(peakFds).toBeGreaterThanOrEqual(fdsBefore.total + CONNECTIONS);
    for (const got of filled) expect(complete(got) && got.digest).toBe(filling);
    expect(growth).toBeLessThan(RSS_GROWTH_BOUND_MIB);
  }, (SECONDS + 60) * 1000);
});
