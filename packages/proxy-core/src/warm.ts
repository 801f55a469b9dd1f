/**
 * warm: pre-pull images into the cache, through the normal fill path (warm-client.ts), so a
 * fleet's first pull is already a hit. For an index every platform is pulled, or only the
 * one asked for (`linux/arm64`, `linux/arm/v7`; matched as containerd matches, see
 * warm-platform.ts). A single-platform image asked for with a platform must be that
 * platform: its config says which it is. Blobs already cached are read through too (a hit,
 * cheap) so their last use is now and gc keeps them.
 */
import { essenceOf, isIndexMediaType, parseManifest, type Descriptor, type Digest, type Platform } from '@regcache/registry-protocol';
import type { GuardedStore } from './guarded-store.js';
import { parseImageRef, type ImageRef } from './image-ref.js';
import { OperationInputError } from './operation-errors.js';
import { WarmFetchError, type LoopbackClient } from './warm-client.js';
import { configPlatform, parsePlatform, platformMatches, platformName, WarmPlatformMismatchError } from './warm-platform.js';

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
/** Configs that are an image's (Docker's, OCI's) and say its platform; an artifact's config is not read for one. */
const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set(['application/vnd.docker.container.image.v1+json', 'application/vnd.oci.image.config.v1+json']);
/** Image configs are a few KiB; one past this is not read into memory to learn its platform. */
const CONFIG_READ_LIMIT = 4 * 1024 * 1024;

interface WarmPlan {
  top: Digest;
  mediaType: string;
  platforms: string[];
  blobs: Descriptor[];
  /** A single-platform image's config and the platform asked for: read and checked first. */
  check?: { config: Descriptor; want: Platform };
}

function parseOrThrow(ref: ImageRef, bytes: Buffer, mediaType: string) {
  const parsed = parseManifest(bytes.toString('utf8'), mediaType);
  if (!parsed.ok) throw new WarmFetchError(parsed.error.message);
  return parsed.value;
}

/** What to check a single-platform image's platform with: its config, if that is an image config. */
function configToCheck(config: Descriptor | undefined, want: Platform | undefined): WarmPlan['check'] {
  if (want === undefined || config === undefined || !IMAGE_CONFIG_TYPES.has(essenceOf(config.mediaType))) return undefined;
  if (config.size > CONFIG_READ_LIMIT) throw new WarmFetchError(`config ${config.digest} is ${config.size} bytes, more than warm reads to learn an image's platform`);
  return { config, want };
}

/** Every config and layer of the image (of the chosen platforms of an index), once each. */
async function resolveBlobs(deps: WarmDeps, ref: ImageRef, want: Platform | undefined): Promise<WarmPlan> {
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
  const check = isIndexMediaType(manifest.mediaType) ? undefined : configToCheck(manifest.config, want);
  return { top: top.digest, mediaType: manifest.mediaType, platforms, blobs: [...blobs.values()], check };
}

interface Tally {
  done: number;
  bytes: number;
  cachedBlobs: number;
  fetchedBytes: number;
  /** Counts a blob read through, and reports progress. */
  add(d: Descriptor, cached: boolean): void;
}

function tally(ref: ImageRef, blobs: readonly Descriptor[], onProgress?: (p: WarmProgress) => void): Tally {
  const totalBytes = blobs.reduce((sum, d) => sum + d.size, 0);
  const t: Tally = {
    done: 0,
    bytes: 0,
    cachedBlobs: 0,
    fetchedBytes: 0,
    add(d, cached) {
      if (cached) t.cachedBlobs++;
      else t.fetchedBytes += d.size;
      t.done++;
      t.bytes += d.size;
      onProgress?.({ image: ref.display, done: t.done, total: blobs.length, bytes: t.bytes, totalBytes });
    },
  };
  return t;
}

/**
 * A single-platform image's config first, alone: it is small and says the image's platform.
 * On a mismatch the image fails here, before warm fetches any layer (they would be another
 * platform's, and can be large) and before any progress is reported; the config itself has
 * come through the fill path like any blob, so it stays cached. (The manifest's first fetch
 * from the upstream still has the cache prefetch its blobs when `fill.prefetch` is on, as for
 * any client that reads it.) A config that states no os/architecture cannot disagree: the
 * image is warmed as before.
 */
async function checkConfig(deps: WarmDeps, ref: ImageRef, { config, want }: NonNullable<WarmPlan['check']>, counts: Tally): Promise<void> {
  const cached = (await deps.store.peek(config.digest)) !== undefined;
  const bytes = await deps.client.blobBytes(ref.upstream, ref.name, config.digest, CONFIG_READ_LIMIT);
  if (bytes.length !== config.size) throw new WarmFetchError(`blob ${config.digest} came with ${bytes.length} of ${config.size} bytes`);
  const have = configPlatform(bytes);
  if (have !== undefined && !platformMatches(want, have)) throw new WarmPlatformMismatchError(ref.display, have, want);
  counts.add(config, cached);
}

async function warmOne(deps: WarmDeps, ref: ImageRef, want: Platform | undefined, onProgress?: (p: WarmProgress) => void): Promise<WarmedImage> {
  const { top, mediaType, platforms, blobs, check } = await resolveBlobs(deps, ref, want);
  const counts = tally(ref, blobs, onProgress);
  let queue = [...blobs];
  if (check !== undefined) {
    await checkConfig(deps, ref, check, counts);
    queue = queue.filter((d) => d.digest !== check.config.digest);
  }
  const worker = async (): Promise<void> => {
    for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
      const cached = (await deps.store.peek(d.digest)) !== undefined;
      const received = await deps.client.blob(ref.upstream, ref.name, d.digest);
      if (received !== d.size) throw new WarmFetchError(`blob ${d.digest} came with ${received} of ${d.size} bytes`);
      counts.add(d, cached);
    }
  };
  await Promise.all(Array.from({ length: Math.min(BLOB_CONCURRENCY, queue.length) }, worker));
  const { cachedBlobs, fetchedBytes, bytes } = counts;
  return { image: ref.display, digest: top, mediaType, platforms, blobs: blobs.length, bytes, cachedBlobs, fetchedBytes };
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
