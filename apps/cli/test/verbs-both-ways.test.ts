/**
 * Every verb against a real populated store — images pulled with skopeo through regcache from
 * a real registry — once with the server running (the CLI goes through its admin socket: the
 * server holds the store's lock, so nothing else could answer) and once with it stopped (the
 * CLI opens the store itself). The outputs are compared byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedImages, skopeoPull, startRegistry, type RunningRegistry, type TestImage } from '@regcache/testkit';
import type { GcResult, Inventory, StatsReport, VerifyResult, WarmResult } from '@regcache/proxy-core';
import { runCli, startServer, writeConfig, type TestServer } from './helpers.js';

describe('regcache-admin through the server and directly', () => {
  let upstream: RunningRegistry;
  let config: string;
  let server: TestServer | undefined;
  let images: { docker: TestImage; oci: TestImage; multiArch: TestImage };
  let warm: { docker: TestImage; multiArch: TestImage };

  const cli = async (args: string[]): Promise<string> => {
    const result = await runCli([...args, '--config', config]);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const cliEach = async (runs: string[][]): Promise<string[]> => {
    const out: string[] = [];
    for (const args of runs) out.push(await cli(args));
    return out;
  };
  const blobGets = (image: TestImage, blobs = image.blobs): number =>
    blobs.reduce((sum, b) => sum + upstream.countRequests('GET', `/v2/${image.name}/blobs/${b.digest}`), 0);

  beforeAll(async () => {
    upstream = await startRegistry();
    images = await seedImages(upstream, { prefix: 'ops' });
    const forWarm = await seedImages(upstream, { prefix: 'warm' });
    warm = { docker: forWarm.docker, multiArch: forWarm.multiArch };
    config = (await writeConfig({ upstreamUrl: upstream.url })).path;
    server = await startServer(config);
    for (const image of [images.docker, images.oci, images.multiArch]) {
      const pulled = await skopeoPull(`${server.host}/${image.name}:${image.tag}`, { all: image.children !== undefined });
      expect(pulled.code, pulled.stderr).toBe(0);
    }
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });

  const readOnly = [
    ['stats'],
    ['stats', '--json'],
    ['ls'],
    ['ls', '--json'],
    ['ls', 'docker.io/ops/multiarch'],
    ['gc', '--dry-run', '--max-size', '60KiB'],
    ['gc', '--dry-run', '--max-size', '60KiB', '--json'],
    ['verify'],
    ['verify', '--json'],
  ];

  it('stats, ls, gc --dry-run and verify print the same either way', async () => {
    const viaServer = await cliEach(readOnly);
    await server?.stop();
    server = undefined;
    const direct = await cliEach(readOnly);
    readOnly.forEach((args, i) => expect(direct[i], args.join(' ')).toBe(viaServer[i]));

    const stats = JSON.parse(viaServer[1] as string) as StatsReport;
    const all = [images.docker, images.oci, images.multiArch];
    expect(stats).toMatchObject({ manifests: 3 + 2, tags: 3, repositories: 3, misses: expect.any(Number) as number });
    expect(stats.blobs).toBe(all.reduce((sum, i) => sum + i.blobs.length, 0));
    expect(stats.bytesFromUpstream).toBeGreaterThan(0);
    expect(stats.topRepositories.map((r) => r.repository).sort()).toEqual(all.map((i) => `docker.io/${i.name}`).sort());
    const inventory = JSON.parse(viaServer[3] as string) as Inventory;
    expect(inventory.repositories.map((r) => `${r.name}:${r.tags.map((t) => t.tag).join()}`)).toEqual(['docker.io/ops/docker:v1', 'docker.io/ops/multiarch:v1', 'docker.io/ops/oci:v1']);
    expect(viaServer[4]).toContain(images.multiArch.digest.slice(0, 19));
    const dry = JSON.parse(viaServer[6] as string) as GcResult;
    expect(dry.removed.length).toBeGreaterThan(0);
    expect(dry.sizeAfter).toBeLessThanOrEqual(60 * 1024);
    expect(viaServer[5]).toContain('gc (dry run): would remove');
    const verify = JSON.parse(viaServer[8] as string) as VerifyResult;
    expect(verify).toMatchObject({ ok: true, corrupt: [], verified: stats.blobs + stats.manifests });
    // The dry runs changed nothing.
    expect(JSON.parse(await cli(['stats', '--json']))).toEqual(stats);
  }, 120_000);

  it('gc through the server removes; then gc has nothing to do, and says so the same way either way', async () => {
    server = await startServer(config);
    const removed = JSON.parse(await cli(['gc', '--max-size', '60KiB', '--json'])) as GcResult;
    expect(removed.removed.length).toBeGreaterThan(0);
    expect(removed.sizeAfter).toBeLessThanOrEqual(60 * 1024);
    const again = ['gc', '--max-size', '60KiB'];
    const viaServer = await cli(again);
    expect(viaServer).toContain('gc: removed 0 blobs');
    await server.stop();
    server = undefined;
    expect(await cli(again)).toBe(viaServer);
  }, 60_000);

  it('warm pulls through the fill path either way, all platforms or one, and prints the same for a warm cache', async () => {
    upstream.resetRequests();
    const direct = JSON.parse(await cli(['warm', 'warm/docker:v1', '--json'])) as WarmResult;
    expect(direct.images[0]).toMatchObject({ image: 'docker.io/warm/docker:v1', digest: warm.docker.digest, cachedBlobs: 0, blobs: warm.docker.blobs.length });

    server = await startServer(config);
    const arm = JSON.parse(await cli(['warm', 'docker.io/warm/multiarch:v1', '--platform', 'linux/arm64', '--json'])) as WarmResult;
    expect(arm.images[0]?.platforms).toEqual(['linux/arm64']);
    await upstream.settle();
    const [amd64, arm64] = warm.multiArch.children ?? [];
    expect(blobGets(warm.docker)).toBe(warm.docker.blobs.length);
    expect(blobGets(warm.multiArch, arm64?.blobs)).toBe(arm64?.blobs.length);
    expect(blobGets(warm.multiArch, amd64?.blobs)).toBe(0);

    // aarch64 is arm64. warm/docker is a linux/amd64 image (no index): its config says so, and it
    // fails with both platforms named, exit 1, while the index beside it warms.
    const again = ['warm', 'warm/docker:v1', 'warm/multiarch:v1', '--platform', 'linux/aarch64'];
    const viaServer = await runCli([...again, '--config', config]);
    expect(viaServer.code, viaServer.stderr).toBe(1);
    expect(viaServer.stderr).toContain('warm  ');
    expect(viaServer.stdout).toMatch(/^docker\.io\/warm\/multiarch:v1 +linux\/arm64 /m);
    expect(viaServer.stdout).toContain('\nfailed: docker.io/warm/docker:v1: the image is linux/amd64, not linux/arm64\n');
    await server.stop();
    server = undefined;
    const directAgain = await runCli([...again, '--config', config]);
    expect([directAgain.code, directAgain.stdout]).toEqual([1, viaServer.stdout]);
    await upstream.settle();
    expect(blobGets(warm.docker) + blobGets(warm.multiArch)).toBe(warm.docker.blobs.length + (arm64?.blobs.length ?? 0));
    expect(await cli(['ls', 'docker.io/warm'])).toContain('docker.io/warm/multiarch  v1');
    // A platform the index lacks: named once, with what it has.
    const s390x = await runCli(['warm', 'warm/multiarch:v1', '--platform', 'linux/s390x', '--config', config]);
    expect([s390x.code, s390x.stdout]).toEqual([1, expect.stringContaining('failed: docker.io/warm/multiarch:v1: no linux/s390x manifest in the index (it has linux/amd64, linux/arm64)\n')]);
  }, 120_000);
});
