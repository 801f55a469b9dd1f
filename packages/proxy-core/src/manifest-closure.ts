/**
 * What a stored image occupies: its manifest and, recursively, every stored blob it
 * references (an index's platform manifests, their configs and layers). `regcache-admin ls`
 * sizes tags with it; `rm --purge` removes the part of it no kept image still references.
 */
import { isIndexMediaType, isManifestMediaType, parseManifest, type Digest } from '@regcache/registry-protocol';
import type { BlobMeta, BlobStore } from '@regcache/blob-store';

/** Every indexed blob's metadata, by digest. */
export type StoredMetas = ReadonlyMap<Digest, BlobMeta>;

export function isManifest(meta: BlobMeta | undefined): boolean {
  return meta?.mediaType !== undefined && isManifestMediaType(meta.mediaType);
}

/**
 * Adds `digest` and everything stored that it references to `into` — and the referenced
 * blobs in `filling` (being filled: not stored yet, but about to be). A digest already in
 * `into` is not read again, so one set shared across many roots parses each manifest once.
 * A manifest that cannot be read or parsed contributes only itself.
 */
export async function addClosure(store: Pick<BlobStore, 'readBytes'>, metas: StoredMetas, digest: Digest, into: Set<Digest>, filling?: ReadonlySet<Digest>): Promise<void> {
  const meta = metas.get(digest);
  if (meta === undefined || into.has(digest)) return;
  into.add(digest);
  if (!isManifest(meta)) return;
  const { blobs, manifests } = await directReferences(store, meta);
  for (const d of blobs) if (metas.has(d) || filling?.has(d)) into.add(d);
  for (const child of manifests) await addClosure(store, metas, child, into, filling);
}

/**
 * What a stored manifest references directly: an image manifest its config and layers
 * (`blobs`), an index its platform manifests (`manifests`). Nothing when it cannot be read or
 * parsed.
 */
export async function directReferences(store: Pick<BlobStore, 'readBytes'>, meta: BlobMeta): Promise<{ blobs: Digest[]; manifests: Digest[] }> {
  const bytes = await store.readBytes(meta.digest).catch(() => undefined);
  const parsed = bytes === undefined ? undefined : parseManifest(bytes.toString('utf8'), meta.mediaType);
  if (parsed === undefined || !parsed.ok) return { blobs: [], manifests: [] };
  const { config, layers, manifests } = parsed.value;
  return {
    blobs: [config, ...layers].flatMap((x) => (x ? [x.digest] : [])),
    manifests: isIndexMediaType(parsed.value.mediaType) ? manifests.map((m) => m.digest) : [],
  };
}

/** Every indexed blob's metadata. */
export async function collectStoredMetas(store: Pick<BlobStore, 'blobs'>): Promise<Map<Digest, BlobMeta>> {
  const metas = new Map<Digest, BlobMeta>();
  for await (const meta of store.blobs()) metas.set(meta.digest, meta);
  return metas;
}
