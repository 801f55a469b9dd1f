import { afterAll, describe, expect, it } from 'vitest';
import { MediaTypes, seedImages, skopeo, skopeoPull, startRegistry, type RunningRegistry, type TestImage } from '../src/index.js';

const started: RunningRegistry[] = [];
afterAll(async () => {
  await Promise.all(started.map((r) => r.stop()));
});

async function inspectRaw(image: TestImage, creds?: string): Promise<{ mediaType?: string; manifests?: Array<{ platform?: { architecture: string } }> }> {
  const args = ['inspect', '--raw', '--tls-verify=false', ...(creds === undefined ? [] : ['--creds', creds]), `docker://${image.ref}`];
  const result = await skopeo(args);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { mediaType?: string };
}

function credsOf(registry: RunningRegistry): string | undefined {
  return registry.credentials === undefined ? undefined : `${registry.credentials.username}:${registry.credentials.password}`;
}

describe.each(['none', 'basic', 'token'] as const)('seedImages (auth %s)', (auth) => {
  it('pushes a Docker schema2 image, an OCI image and a 2-platform OCI index that skopeo reads back', async () => {
    const registry = await startRegistry({ auth });
    started.push(registry);
    const t0 = Date.now();
    const { docker, oci, multiArch } = await seedImages(registry);
    console.log(`seedImages (auth ${auth}) took ${Date.now() - t0} ms`);
    const creds = credsOf(registry);

    expect(docker.mediaType).toBe(MediaTypes.dockerManifest);
    expect((await inspectRaw(docker, creds)).mediaType).toBe(MediaTypes.dockerManifest);
    expect(docker.blobs).toHaveLength(4);
    expect(docker.blobs[0]?.mediaType).toBe(MediaTypes.dockerConfig);

    expect(oci.mediaType).toBe(MediaTypes.ociManifest);
    expect((await inspectRaw(oci, creds)).mediaType).toBe(MediaTypes.ociManifest);
    expect(oci.blobs).toHaveLength(3);

    expect(multiArch.mediaType).toBe(MediaTypes.ociIndex);
    const index = await inspectRaw(multiArch, creds);
    expect(index.mediaType).toBe(MediaTypes.ociIndex);
    expect(index.manifests?.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
    expect(multiArch.children?.map((c) => c.platform?.architecture)).toEqual(['amd64', 'arm64']);
    expect(multiArch.children?.every((c) => c.mediaType === MediaTypes.ociManifest)).toBe(true);
    expect(multiArch.blobs).toHaveLength(6);

    for (const image of [docker, oci, multiArch]) {
      const res = await skopeo(['inspect', '--raw', '--tls-verify=false', ...(creds === undefined ? [] : ['--creds', creds]), `docker://${image.ref}`]);
      expect(res.stdout).toBe(image.manifest.toString('utf8'));
    }
  });
});

describe('seedImages + skopeoPull', () => {
  it('digests differ per call; skopeoPull re-hashes every blob it wrote', async () => {
    const registry = await startRegistry({});
    started.push(registry);
    const first = await seedImages(registry, { prefix: 'a/' });
    const second = await seedImages(registry, { prefix: 'b/' });
    expect(first.oci.digest).not.toBe(second.oci.digest);
    expect(first.docker.blobs[1]?.digest).not.toBe(second.docker.blobs[1]?.digest);

    const pulled = await skopeoPull(first.docker.ref);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.manifestDigest).toBe(first.docker.digest);
    expect(pulled.blobDigests.sort()).toEqual(first.docker.blobs.map((b) => b.digest).sort());

    const all = await skopeoPull(first.multiArch.ref, { all: true });
    expect(all.code, all.stderr).toBe(0);
    expect(all.manifestDigest).toBe(first.multiArch.digest);
    expect(all.instanceDigests.sort()).toEqual((first.multiArch.children ?? []).map((c) => c.digest).sort());
    expect(all.blobDigests.sort()).toEqual(first.multiArch.blobs.map((b) => b.digest).sort());

    const asOci = await skopeoPull(`${first.oci.ref}`, { format: 'oci' });
    expect(asOci.code, asOci.stderr).toBe(0);
    expect(asOci.manifestDigest).toBe(first.oci.digest);

    const missing = await skopeoPull(`${registry.host}/no/such:tag`);
    expect(missing.code).not.toBe(0);
    expect(missing.blobDigests).toEqual([]);
  });
});
