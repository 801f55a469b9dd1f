/**
 * seedImages(): three real images, generated here and pushed with skopeo — a Docker schema2
 * image, an OCI image and a two-platform OCI index — described as the registry stores them.
 */
import { randomBytes } from 'node:crypto';
import { sha256 } from './digest.js';
import { isIndexMediaType } from './media-types.js';
import { writeOciLayout, type LayoutImage } from './oci-layout.js';
import { fetchManifest } from './registry-client.js';
import type { RunningRegistry } from './registry.js';
import { skopeo } from './skopeo.js';
import { makeTarLayer } from './tar.js';
import { tempDir } from './tmp.js';

export interface TestBlob {
  digest: string;
  size: number;
  mediaType?: string;
}

export interface TestImage {
  name: string;
  tag: string;
  digest: string;
  mediaType: string;
  /** config + layers of an image; for an index, those of every platform. */
  blobs: TestBlob[];
  /** for an index: each platform's manifest. */
  children?: TestImage[];
  /** `host:port/name:tag` on the registry it was seeded into (`host:port/name@digest` for an index's children). */
  ref: string;
  /** The manifest bytes as the registry serves them. */
  manifest: Buffer;
  platform?: { architecture: string; os: string };
}

interface ManifestJson {
  config?: TestBlob;
  layers?: TestBlob[];
  manifests?: Array<TestBlob & { platform?: { architecture: string; os: string } }>;
}

/** A gzip'd layer with random content: distinct digests on every call. */
export async function randomLayer(label: string, randomBytesCount = 16 * 1024): Promise<Buffer> {
  return makeTarLayer({
    [`etc/regcache-seed/${label}.txt`]: `${label} ${randomBytes(16).toString('hex')}\n`,
    [`usr/share/regcache-seed/${label}.bin`]: randomBytes(randomBytesCount),
  });
}

/** Reads name:reference back from the registry (Docker-Content-Digest checked) into a TestImage. */
export async function describeImage(registry: RunningRegistry, name: string, tag: string, reference = tag): Promise<TestImage> {
  const fetched = await fetchManifest(registry, name, reference);
  const json = JSON.parse(fetched.body.toString('utf8')) as ManifestJson;
  const ref = reference === tag ? `${registry.host}/${name}:${tag}` : `${registry.host}/${name}@${reference}`;
  const base = { name, tag, digest: fetched.digest, mediaType: fetched.mediaType, ref, manifest: fetched.body };
  if (!isIndexMediaType(fetched.mediaType)) {
    const blobs = [json.config, ...(json.layers ?? [])].filter((b): b is TestBlob => b !== undefined);
    return { ...base, blobs: blobs.map(({ digest, size, mediaType }) => ({ digest, size, mediaType })) };
  }
  const children: TestImage[] = [];
  for (const entry of json.manifests ?? []) {
    const child = await describeImage(registry, name, tag, entry.digest);
    children.push(entry.platform === undefined ? child : { ...child, platform: { architecture: entry.platform.architecture, os: entry.platform.os } });
  }
  const blobs = new Map(children.flatMap((child) => child.blobs).map((blob) => [blob.digest, blob]));
  return { ...base, blobs: [...blobs.values()], children };
}

/** Writes the images as an OCI layout and pushes it with skopeo (`extra` e.g. --format v2s2 or --all). */
async function pushLayout(registry: RunningRegistry, name: string, tag: string, images: LayoutImage[], extra: string[]): Promise<void> {
  const dir = await tempDir('seed-layout');
  await writeOciLayout(dir, images, tag);
  const creds = registry.credentials === undefined ? [] : ['--dest-creds', `${registry.credentials.username}:${registry.credentials.password}`];
  const result = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', ...creds, ...extra, `oci:${dir}:${tag}`, `docker://${registry.host}/${name}:${tag}`]);
  if (result.code !== 0) throw new Error(`seedImages: skopeo push of ${name}:${tag} failed (${result.code}):\n${result.stderr}`);
}

/** Every generated layer must be in the stored image, byte for byte (skopeo must not have recompressed). */
function expectLayers(image: TestImage, layers: Buffer[]): void {
  const stored = new Set(image.blobs.map((b) => b.digest));
  const missing = layers.map((layer) => sha256(layer)).filter((digest) => !stored.has(digest));
  if (missing.length > 0) throw new Error(`seedImages: ${image.name} lacks generated layers ${missing.join(', ')}`);
}

/**
 * Generates and pushes with skopeo `<prefix>/docker` (Docker schema2), `<prefix>/oci` (OCI
 * manifest) and `<prefix>/multiarch` (OCI index: linux/amd64 + linux/arm64). The prefix is a
 * namespace joined with '/' ('e2e' → e2e/docker; default 'seed'); tag v1 by default.
 * Returns them as the registry stores them. skopeo's push requests show in
 * registry.requests(): call registry.resetRequests() afterwards for clean counts.
 */
export async function seedImages(registry: RunningRegistry, opts: { prefix?: string; tag?: string } = {}): Promise<{ docker: TestImage; oci: TestImage; multiArch: TestImage }> {
  const namespace = (opts.prefix ?? 'seed').replace(/\/+$/, '');
  const prefix = namespace === '' ? '' : `${namespace}/`;
  const tag = opts.tag ?? 'v1';
  const dockerLayers = await Promise.all([randomLayer('docker-base', 32 * 1024), randomLayer('docker-app'), randomLayer('docker-config', 512)]);
  const ociLayers = await Promise.all([randomLayer('oci-base', 32 * 1024), randomLayer('oci-app')]);
  const amd64 = await Promise.all([randomLayer('amd64-base'), randomLayer('amd64-app', 1024)]);
  const arm64 = await Promise.all([randomLayer('arm64-base'), randomLayer('arm64-app', 1024)]);
  const names = { docker: `${prefix}docker`, oci: `${prefix}oci`, multiArch: `${prefix}multiarch` };
  await Promise.all([
    pushLayout(registry, names.docker, tag, [{ layers: dockerLayers }], ['--format', 'v2s2']),
    pushLayout(registry, names.oci, tag, [{ layers: ociLayers }], ['--format', 'oci']),
    pushLayout(registry, names.multiArch, tag, [{ layers: amd64, architecture: 'amd64' }, { layers: arm64, architecture: 'arm64' }], ['--all']),
  ]);
  const [docker, oci, multiArch] = await Promise.all([describeImage(registry, names.docker, tag), describeImage(registry, names.oci, tag), describeImage(registry, names.multiArch, tag)]);
  expectLayers(docker, dockerLayers);
  expectLayers(oci, ociLayers);
  expectLayers(multiArch, [...amd64, ...arm64]);
  // skopeo's push traffic is in requests(); settle so a resetRequests() now really clears it.
  await registry.settle();
  return { docker, oci, multiArch };
}
