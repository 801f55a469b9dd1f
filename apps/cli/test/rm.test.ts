/**
 * `regcache-admin rm` against a real store — images pulled with skopeo through regcache from a
 * real registry. Through the running server (admin socket): a dry run changes nothing; a forget
 * drops the tag, so the next pull asks the upstream for the tag again but not for the blobs
 * (the content stayed). Directly (server stopped, the CLI opens the store): `--purge` deletes
 * the image's manifests and blobs, so a pull after fetches them from the upstream again. An
 * image the cache does not hold exits 1; a bad reference exits 2 — the same either way, and so do
 * `--all-tags` with a repository (its tags) and with a tag (exit 2). `expire`
 * keeps the tag and sends the next pull to the upstream with one HEAD, directly and through the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedImages, skopeoPull, startRegistry, type RunningRegistry, type TestImage } from '@regcache/testkit';
import type { Inventory, RemoveResult, StatsReport } from '@regcache/proxy-core';
import { runCli, startServer, writeConfig, type TestServer } from './helpers.js';

describe('regcache-admin rm', () => {
  let upstream: RunningRegistry;
  let config: string;
  let server: TestServer | undefined;
  let images: { docker: TestImage; oci: TestImage; multiArch: TestImage };

  const cli = async (args: string[]): Promise<string> => {
    const result = await runCli([...args, '--config', config]);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const rm = async (args: string[]): Promise<RemoveResult> => JSON.parse(await cli(['rm', ...args, '--json'])) as RemoveResult;
  const tagsListed = async (): Promise<string[]> =>
    (JSON.parse(await cli(['ls', '--json'])) as Inventory).repositories.flatMap((r) => r.tags.map((t) => `${r.name}:${t.tag}`));
  const sizeBytes = async (): Promise<number> => (JSON.parse(await cli(['stats', '--json'])) as StatsReport).sizeBytes;
  const pull = async (image: TestImage): Promise<void> => {
    if (server === undefined) throw new Error('pull needs the server');
    const pulled = await skopeoPull(`${server.host}/${image.name}:${image.tag}`, { all: image.children !== undefined });
    expect(pulled.code, pulled.stderr).toBe(0);
    await upstream.settle();
  };
  const blobGets = (image: TestImage): number =>
    image.blobs.reduce((sum, b) => sum + upstream.countRequests('GET', `/v2/${image.name}/blobs/${b.digest}`), 0);
  /** The manifest(s) and blobs an image stores: what a purge of it deletes. */
  const stored = (image: TestImage): Array<{ digest: string; size: number }> => [
    { digest: image.digest, size: image.manifest.length },
    ...(image.children ?? []).map((c) => ({ digest: c.digest, size: c.manifest.length })),
    ...image.blobs.map((b) => ({ digest: b.digest, size: b.size })),
  ];

  beforeAll(async () => {
    upstream = await startRegistry();
    images = await seedImages(upstream, { prefix: 'rm' });
    config = (await writeConfig({ upstreamUrl: upstream.url })).path;
    server = await startServer(config);
    for (const image of [images.docker, images.multiArch]) await pull(image);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });

  it('through the server: a dry run changes nothing; a forget drops the tag, the next pull asks for the tag but not the blobs', async () => {
    const { docker } = images;
    const name = `docker.io/${docker.name}:${docker.tag}`;
    expect(await tagsListed()).toContain(name);

    const dry = await rm([`${docker.name}:${docker.tag}`, '--dry-run']);
    expect(dry).toMatchObject({ dryRun: true, purge: false, notFound: [], tagsForgotten: [name], removed: [], freedBytes: 0 });
    expect(dry.images).toEqual([{ image: name, repository: `docker.io/${docker.name}`, digest: docker.digest, tags: [name] }]);
    expect(await tagsListed()).toContain(name);
    upstream.resetRequests();
    await pull(docker);
    expect(upstream.countRequests('GET', `/v2/${docker.name}/manifests/${docker.tag}`)).toBe(0);

    const before = await sizeBytes();
    const human = await cli(['rm', `${docker.name}:${docker.tag}`]);
    expect(human).toContain(`rm: forgot 1 tag: ${name}`);
    expect(human).toMatch(new RegExp(`^${name.replace(/[./]/g, '\\$&')}\\s+${docker.digest.slice(0, 19)}\\s+1$`, 'm'));
    expect(human).not.toContain('dry run');
    expect(await tagsListed()).not.toContain(name);
    expect(await sizeBytes()).toBe(before);

    upstream.resetRequests();
    await pull(docker);
    expect(upstream.countRequests('GET', `/v2/${docker.name}/manifests/${docker.tag}`)).toBeGreaterThan(0);
    expect(blobGets(docker)).toBe(0);
    expect(await tagsListed()).toContain(name);
  }, 120_000);

  it('directly: --purge deletes the manifests and blobs, and a pull after fetches them from the upstream again', async () => {
    await server?.stop();
    server = undefined;
    const { multiArch, docker } = images;
    const name = `docker.io/${multiArch.name}:${multiArch.tag}`;
    const expected = stored(multiArch);
    const before = await sizeBytes();

    const dry = await rm([`docker.io/${multiArch.name}:${multiArch.tag}`, '--purge', '--dry-run']);
    expect(dry.removed.map((b) => b.digest).sort()).toEqual(expected.map((b) => b.digest).sort());
    expect(await sizeBytes()).toBe(before);

    const purged = await rm([`docker.io/${multiArch.name}:${multiArch.tag}`, '--purge']);
    expect(purged).toMatchObject({ dryRun: false, purge: true, notFound: [], tagsForgotten: [name], keptShared: 0, skippedInUse: 0 });
    expect(purged.removed.map((b) => b.digest).sort()).toEqual(expected.map((b) => b.digest).sort());
    const bytes = expected.reduce((sum, b) => sum + b.size, 0);
    expect(purged.freedBytes).toBe(bytes);
    expect(await sizeBytes()).toBe(before - bytes);
    const left = await tagsListed();
    expect(left).not.toContain(name);
    expect(left).toContain(`docker.io/${docker.name}:${docker.tag}`);

    server = await startServer(config);
    upstream.resetRequests();
    await pull(multiArch);
    expect(blobGets(multiArch)).toBe(multiArch.blobs.length);
    expect(await sizeBytes()).toBe(before);
  }, 120_000);

  it('an image not cached exits 1 and says so; a bad reference exits 2 naming it — through the server and directly', async () => {
    const missing = `${images.oci.name}:${images.oci.tag}`;
    const runs = async (): Promise<void> => {
      const notCached = await runCli(['rm', missing, '--config', config]);
      expect(notCached.code, notCached.stderr).toBe(1);
      expect(notCached.stdout).toContain(`not cached: docker.io/${missing}`);
      const json = await runCli(['rm', missing, `${images.docker.name}:nope`, '--json', '--config', config]);
      expect(json.code, json.stderr).toBe(1);
      expect((JSON.parse(json.stdout) as RemoveResult).notFound).toEqual([`docker.io/${missing}`, `docker.io/${images.docker.name}:nope`]);
      const all = await runCli(['rm', '--all-tags', '--dry-run', images.docker.name, '--json', '--config', config]);
      expect(all.code, all.stderr).toBe(0);
      expect((JSON.parse(all.stdout) as RemoveResult).tagsForgotten).toEqual([`docker.io/${images.docker.name}:${images.docker.tag}`]);
      const tagged = await runCli(['rm', '--all-tags', `${images.docker.name}:${images.docker.tag}`, '--config', config]);
      expect(tagged.code, tagged.stderr).toBe(2);
      expect(tagged.stderr).toContain('without a tag or digest');
      const bad = await runCli(['rm', 'UPPER/case:x', '--config', config]);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toContain('"UPPER/case:x"');
      expect(bad.stderr).not.toMatch(/\n\s+at /);
    };
    expect(server).toBeDefined();
    await runs();
    await server?.stop();
    server = undefined;
    await runs();
    expect(await tagsListed()).toEqual([`docker.io/${images.docker.name}:v1`, `docker.io/${images.multiArch.name}:v1`]);
  }, 120_000);

  it('expire keeps the tag but sends the next pull to the upstream with one HEAD; directly, too', async () => {
    const { docker, oci } = images;
    const ref = `${docker.name}:${docker.tag}`;
    const name = `docker.io/${ref}`;
    const direct = await runCli(['expire', ref, '--config', config]);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stdout).toContain(`expire: 1 tag expired: ${name}`);

    server = await startServer(config);
    upstream.resetRequests();
    await pull(docker);
    expect(upstream.countRequests('HEAD', `/v2/${docker.name}/manifests/${docker.tag}`)).toBe(1);
    expect(upstream.countRequests('GET', `/v2/${docker.name}/manifests/${docker.tag}`)).toBe(0);
    expect(blobGets(docker)).toBe(0);

    const viaServer = await runCli(['expire', ref, `${oci.name}:${oci.tag}`, '--json', '--config', config]);
    expect(viaServer.code, viaServer.stderr).toBe(1);
    expect(JSON.parse(viaServer.stdout)).toEqual({
      images: [
        { image: name, repository: `docker.io/${docker.name}`, digest: docker.digest, tags: [name] },
        { image: `docker.io/${oci.name}:${oci.tag}`, repository: `docker.io/${oci.name}`, digest: null, tags: [] },
      ],
      notFound: [`docker.io/${oci.name}:${oci.tag}`],
      tagsExpired: [name],
      notFoundForgotten: [],
    });
    upstream.resetRequests();
    await pull(docker);
    expect(upstream.countRequests('HEAD', `/v2/${docker.name}/manifests/${docker.tag}`)).toBe(1);
    expect(await tagsListed()).toContain(name);
  }, 120_000);
});
