/**
 * Writes a real OCI image layout (oci-layout, index.json, blobs/sha256/…) from layer tarballs:
 * one image → an image manifest; several → an image index of platforms. skopeo reads it as
 * `oci:DIR:TAG`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { digestHex, sha256 } from './digest.js';
import { MediaTypes } from './media-types.js';

export interface GeneratedBlob {
  digest: string;
  size: number;
  mediaType: string;
  bytes: Buffer;
}

export interface LayoutImage {
  layers: Buffer[];
  architecture?: string;
  os?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface OciLayoutResult {
  /** The manifest (or index) the tag points at. */
  top: Descriptor;
  /** Per-platform manifests when `top` is an index; empty otherwise. */
  manifests: Descriptor[];
  /** Every blob written (layers, configs, manifests, index). */
  blobs: GeneratedBlob[];
}

const CREATED = '2024-01-01T00:00:00Z';

/** A blob from bytes: digest and size computed here. */
export function blobOf(bytes: Buffer, mediaType: string): GeneratedBlob {
  return { digest: sha256(bytes), size: bytes.length, mediaType, bytes };
}

function jsonBlob(value: object, mediaType: string): GeneratedBlob {
  return blobOf(Buffer.from(JSON.stringify(value)), mediaType);
}

function descriptor(blob: GeneratedBlob): Descriptor {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
}

function isGzip(bytes: Buffer): boolean {
  return bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Config + manifest for one image; returns every blob, the manifest last. */
export function buildImage(image: LayoutImage): GeneratedBlob[] {
  const layers = image.layers.map((bytes) => blobOf(bytes, isGzip(bytes) ? MediaTypes.ociLayerGzip : MediaTypes.ociLayer));
  const diffIds = image.layers.map((bytes) => sha256(isGzip(bytes) ? gunzipSync(bytes) : bytes));
  const config = jsonBlob(
    {
      created: CREATED,
      architecture: image.architecture ?? 'amd64',
      os: image.os ?? 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map((_, i) => ({ created: CREATED, created_by: `regcache-testkit layer ${i}` })),
    },
    MediaTypes.ociConfig,
  );
  const manifest = jsonBlob(
    { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: descriptor(config), layers: layers.map(descriptor) },
    MediaTypes.ociManifest,
  );
  return [...layers, config, manifest];
}

async function readIndex(dir: string): Promise<Descriptor[]> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
    return parsed.manifests ?? [];
  } catch {
    return [];
  }
}

/** Adds `top` to the layout's index.json under `tag`, replacing an earlier entry with that tag. */
async function tagInIndex(dir: string, top: Descriptor, tag: string): Promise<void> {
  const refName = 'org.opencontainers.image.ref.name';
  const kept = (await readIndex(dir)).filter((d) => d.annotations?.[refName] !== tag);
  const index = { schemaVersion: 2, manifests: [...kept, { ...top, annotations: { [refName]: tag } }] };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

/** Writes the images into an OCI layout at dir (created if needed) tagged `tag`. */
export async function writeOciLayout(dir: string, images: LayoutImage[], tag: string): Promise<OciLayoutResult> {
  if (images.length === 0) throw new Error('writeOciLayout: no images');
  const built = images.map(buildImage);
  const manifests = built.map((blobs, i) => ({ blob: blobs[blobs.length - 1] as GeneratedBlob, image: images[i] as LayoutImage }));
  const blobs = built.flat();
  let top = descriptor(manifests[0]?.blob as GeneratedBlob);
  const platformManifests: Descriptor[] = [];
  if (images.length > 1) {
    for (const { blob, image } of manifests) {
      platformManifests.push({ ...descriptor(blob), platform: { architecture: image.architecture ?? 'amd64', os: image.os ?? 'linux' } });
    }
    const index = jsonBlob({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: platformManifests }, MediaTypes.ociIndex);
    blobs.push(index);
    top = descriptor(index);
  }
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await Promise.all(blobs.map((blob) => writeFile(join(dir, 'blobs', 'sha256', digestHex(blob.digest)), blob.bytes)));
  await tagInIndex(dir, top, tag);
  return { top, manifests: platformManifests, blobs };
}
