/**
 * What each stored manifest references, read once per gc plan: an image manifest its config
 * and layers, an index its platform manifests. gc weighs an image as a whole with it (a pull
 * that only re-checks the manifest is a use of its layers too — gc-images.ts). Only what is
 * stored is listed. A manifest that cannot be read or parsed references nothing: it is
 * weighed alone, as every blob was before.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta, BlobStore } from '@regcache/blob-store';
import { directReferences, isManifest } from './manifest-closure.js';

/** manifest digest → the stored digests it references directly. */
export type References = ReadonlyMap<Digest, readonly Digest[]>;

async function referencesOf(store: Pick<BlobStore, 'readBytes'>, meta: BlobMeta, stored: ReadonlySet<Digest>): Promise<Digest[]> {
  const { blobs, manifests } = await directReferences(store, meta);
  // A digest listed twice (the same layer at two positions) is one reference.
  return [...new Set([...blobs, ...manifests])].filter((d) => d !== meta.digest && stored.has(d));
}

export async function readReferences(store: Pick<BlobStore, 'readBytes'>, metas: readonly BlobMeta[]): Promise<Map<Digest, Digest[]>> {
  const stored = new Set(metas.map((m) => m.digest));
  const refs = new Map<Digest, Digest[]>();
  for (const meta of metas) {
    if (!isManifest(meta)) continue;
    const children = await referencesOf(store, meta, stored);
    if (children.length > 0) refs.set(meta.digest, children);
  }
  return refs;
}
