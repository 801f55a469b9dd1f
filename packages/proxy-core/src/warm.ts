/**
 * warm: pre-pull images into the cache, through the normal fill path (warm-client.ts), so a
 * fleet's first pull is already a hit. For an index every platform is pulled, or only the
 * one asked for (`linux/arm64`, `linux/arm/v7`). Blobs already cached are read through too
 * (a hit, cheap) so their last use is now and gc keeps them.
 */
import { isIndexMediaType, parseManifest, type Descriptor, type Digest, type Platform } from '@regcache/registry-protocol';
import type { GuardedStore } from './guarded-store.js';
import { parseImageRef, type ImageRef } from './image-ref.js';
import { OperationInputError } from './operation-errors.js';
import { WarmFetchError, type LoopbackClient } from './warm-client.js';

export interface WarmOptions {
  images: readonly string[];
  /** `os/arch[/variant]`; every platform of an index when absent. */
  platform?: string;
}

export interface WarmProgress {
  image: string;
  done: number;
  total: number;
  bytes: number;
  totalBytes: number;
}

export interface WarmedImage {
  image: string;
  digest: Digest;
  mediaType: string;
  platforms: string[];
  blobs: number;
  bytes: number;
  /** Blobs that were already cached before this warm. */
  cachedBlobs: number;
  fetchedBytes: number;
}

export interface WarmResult {
  images: WarmedImage[];
  failed: Array<{ image: string; error: string }>;
}

export interface WarmDeps {
  client: LoopbackClient;
  store: Pick<GuardedStore, 'peek'>;
  upstreams: readonly string[];
  defaultUpstream: string;
}

const BLOB_CONCURRENCY = 4;

function platformName(p: Platform | undefined): string {
  if (p === undefined) return 'unknown';
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined).join('/');
}

export function parsePlatform(value: string): Platform {
  const [os, architecture, variant, extra] = value.split('/');
  if (!os || !architecture || extra !== undefined || variant === '') {
    throw new OperationInputError(`--platform must be os/arch or os/arch/variant (e.g. linux/arm64), not "${value}"`);
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (have === undefined || have.os !== want.os || have.architecture !== want.architecture) return false;
  return want.variant === undefined || want.variant === have.variant;
}

function parseOrThrow(ref: ImageRef, bytes: Buffer, mediaType: string) {
  const parsed = parseManifest(bytes.toString('utf8'), mediaType);
  if (!parsed.ok) throw new WarmFetchError(parsed.error.message);
  return parsed.value;
}

/** Every config and layer of the image (of the chosen platforms of an index), once each. */
async function resolveBlobs(deps: WarmDeps, ref: ImageRef, want: Platform | undefined): Promise<{ top: Digest; mediaType: string; platforms: string[]; blobs: Descriptor[] }> {
  const top = await deps.client.manifest(ref.upstream, ref.name, ref.reference.kind === 'tag' ? ref.reference.tag : ref.reference.digest);
  const manifest = parseOrThrow(ref, top.bytes, top.mediaType);
  let images = [{ platform: undefined as Platform | undefined, manifest }];
  if (isIndexMediaType(manifest.mediaType)) {
    const chosen = manifest.manifests.filter((m) => want === undefined || platformMatches(want, m.platform));
    if (chosen.length === 0) {
      const available = manifest.manifests.map((m) => platformName(m.platform)).join(', ');
      throw new WarmFetchError(`no ${platformName(want)} manifest in the index (it has ${available})`);
    }
    images = [];
    for (const child of chosen) {
      const fetched = await deps.client.manifest(ref.upstream, ref.name, child.digest);
      images.push({ platform: child.platform, manifest: parseOrThrow(ref, fetched.bytes, fetched.mediaType) });
    }
  }
  const blobs = new Map<Digest, Descriptor>();
  for (const { manifest: m } of images) for (const d of [m.config, ...m.layers]) if (d) blobs.set(d.digest, d);
  const platforms = images.flatMap((i) => (i.platform ? [platformName(i.platform)] : []));
  return { top: top.digest, mediaType: manifest.mediaType, platforms, blobs: [...blobs.values()] };
}

async function warmOne(deps: WarmDeps, ref: ImageRef, want: Platform | undefined, onProgress?: (p: WarmProgress) => void): Promise<WarmedImage> {
  const { top, mediaType, platforms, blobs } = await resolveBlobs(deps, ref, want);
  const totalBytes = blobs.reduce((sum, d) => sum + d.size, 0);
  const queue = [...blobs];
  let done = 0;
  let bytes = 0;
  let cachedBlobs = 0;
  let fetchedBytes = 0;
  const worker = async (): Promise<void> => {
    for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
      const cached = (await deps.store.peek(d.digest)) !== undefined;
      const received = await deps.client.blob(ref.upstream, ref.name, d.digest);
      if (received !== d.size) throw new WarmFetchError(`blob ${d.digest} came with ${received} of ${d.size} bytes`);
      if (cached) cachedBlobs++;
      else fetchedBytes += d.size;
      done++;
      bytes += d.size;
      onProgress?.({ image: ref.display, done, total: blobs.length, bytes, totalBytes });
    }
  };
  await Promise.all(Array.from({ length: Math.min(BLOB_CONCURRENCY, blobs.length) }, worker));
  return { image: ref.display, digest: top, mediaType, platforms, blobs: blobs.length, bytes: totalBytes, cachedBlobs, fetchedBytes };
}

export async function warmImages(deps: WarmDeps, opts: WarmOptions, onProgress?: (p: WarmProgress) => void): Promise<WarmResult> {
  if (opts.images.length === 0) throw new OperationInputError('name at least one image to warm (e.g. docker.io/library/alpine:3.20)');
  const refs = opts.images.map((image) => parseImageRef(image, deps.upstreams, deps.defaultUpstream));
  const want = opts.platform === undefined ? undefined : parsePlatform(opts.platform);
  const result: WarmResult = { images: [], failed: [] };
  for (const ref of refs) {
    try {
      result.images.push(await warmOne(deps, ref, want, onProgress));
    } catch (error) {
      if (!(error instanceof WarmFetchError)) throw error;
      result.failed.push({ image: ref.display, error: error.message });
    }
  }
  return result;
}
