/**
 * A flipped byte in a stored layer: `verify` reports it (exit 1) directly and through the
 * server alike, `verify --repair` removes it, and the next pull through regcache fetches that
 * layer from the upstream again — and only that one.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedImages, skopeoPull, startRegistry, type RunningRegistry, type TestImage } from '@regcache/testkit';
import type { VerifyResult } from '@regcache/proxy-core';
import { runCli, startServer, writeConfig, type TestServer } from './helpers.js';

async function flipByte(path: string, at: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    await handle.write(Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, at);
  } finally {
    await handle.close();
  }
}

describe('regcache-admin verify', () => {
  let upstream: RunningRegistry;
  let config: { path: string; data: string };
  let server: TestServer | undefined;
  let image: TestImage;

  beforeAll(async () => {
    upstream = await startRegistry();
    image = (await seedImages(upstream, { prefix: 'verify' })).docker;
    config = await writeConfig({ upstreamUrl: upstream.url });
    server = await startServer(config.path);
    const pulled = await skopeoPull(`${server.host}/${image.name}:${image.tag}`);
    expect(pulled.code, pulled.stderr).toBe(0);
    await server.stop();
    server = undefined;
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });

  it('finds a flipped byte, removes it with --repair, and the next pull fetches it again', async () => {
    const layer = image.blobs.find((b) => b.size > 10_000);
    if (layer === undefined) throw new Error('the test image has no large layer');
    const hex = layer.digest.slice('sha256:'.length);
    await flipByte(join(config.data, 'blobs', 'sha256', hex.slice(0, 2), hex), 5000);

    const direct = await runCli(['verify', '--config', config.path]);
    expect(direct.code).toBe(1);
    expect(direct.stdout).toContain(`corrupt: ${layer.digest} (not removed: run with --repair)`);
    expect(direct.stderr).toContain('verify  ');

    server = await startServer(config.path);
    const viaServer = await runCli(['verify', '--config', config.path]);
    expect(viaServer.code).toBe(1);
    expect(viaServer.stdout).toBe(direct.stdout);

    const repaired = await runCli(['verify', '--repair', '--json', '--config', config.path]);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(JSON.parse(repaired.stdout) as VerifyResult).toMatchObject({ corrupt: [layer.digest], repaired: true, ok: true });

    upstream.resetRequests();
    const pulled = await skopeoPull(`${server.host}/${image.name}:${image.tag}`);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.blobDigests).toContain(layer.digest);
    await upstream.settle();
    for (const blob of image.blobs) {
      expect(upstream.countRequests('GET', `/v2/${image.name}/blobs/${blob.digest}`), blob.digest).toBe(blob.digest === layer.digest ? 1 : 0);
    }
    const clean = await runCli(['verify', '--config', config.path]);
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.stdout).toContain('verify: ok');
  }, 120_000);
});
