/**
 * pushSmallImage(): a one-layer OCI image pushed straight to a registry over its API (no
 * skopeo: fast enough to push many, or to retag, inside a test).
 */
import { buildImage } from './oci-layout.js';
import { MediaTypes } from './media-types.js';
import { pushBlob, pushManifest } from './registry-client.js';
import type { RunningRegistry } from './registry.js';
import { randomLayer } from './seed.js';

export interface SmallImage {
  name: string;
  tag: string;
  /** The manifest's digest. */
  digest: string;
  /** Config and layer digests, in the manifest's order. */
  blobs: string[];
}

/** Pushes name:tag (config + one random layer of about `layerBytes`); a second call retags to a new digest. */
export async function pushSmallImage(registry: RunningRegistry, name: string, tag: string, layerBytes = 2048): Promise<SmallImage> {
  const built = buildImage({ layers: [await randomLayer(`${name}-${tag}`, layerBytes)] });
  const manifest = built[built.length - 1];
  if (manifest === undefined) throw new Error('buildImage returned nothing');
  // buildImage gives layers, config, manifest; the manifest names the config first.
  const blobs = [...built.slice(-2, -1), ...built.slice(0, -2)];
  for (const blob of blobs) await pushBlob(registry, name, blob.bytes);
  const digest = await pushManifest(registry, name, tag, manifest.bytes, MediaTypes.ociManifest);
  return { name, tag, digest, blobs: blobs.map((b) => b.digest) };
}
