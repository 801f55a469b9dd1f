/**
 * The upstream's content, generated once per run and pushed through the v2 API (testkit's
 * pushBlob / pushManifest): `bench/big:v1` with one incompressible (random) layer of
 * --blob-mib MiB, `bench/image:v1` with 20 uncompressed tar layers of random bytes (256 MiB in
 * all, 64 MiB down to 512 KiB — uncompressed so seeding does not spend seconds in gzip; the
 * bytes are incompressible either way), `bench/small:v1`, whose manifest is the small
 * document of the manifest rows, and FILL_BLOBS random blobs of 64 KiB in `bench/fills` (no
 * manifest: the fill-cost row fetches them by digest).
 */
import { randomBytes } from 'node:crypto';
import { buildImage, makeTarLayer, MediaTypes, pushBlob, pushManifest, type GeneratedBlob, type RunningRegistry } from '@regcache/testkit';

const MiB = 1024 * 1024;

/** The fill-cost row's blobs: how many, and the size of each. */
const FILL_BLOBS = 200;
const FILL_BLOB_BYTES = 64 * 1024;

/** Layer sizes of the 20-layer image in MiB (sum 256). */
const IMAGE_LAYER_MIB = [64, 48, 32, 24, 16, 16, 12, 8, 8, 6, 6, 4, 4, 2, 2, 1, 1, 1, 0.5, 0.5];

export interface BenchBlob {
  repo: string;
  digest: string;
  size: number;
  /** `/v2/<repo>/blobs/<digest>` */
  path: string;
}

export interface BenchManifest {
  repo: string;
  tag: string;
  digest: string;
  size: number;
  /** `/v2/<repo>/manifests/<digest>` */
  digestPath: string;
  /** `/v2/<repo>/manifests/<tag>` */
  tagPath: string;
}

export interface BenchContent {
  big: BenchBlob;
  image: BenchManifest & { layers: number; bytes: number };
  small: BenchManifest;
  fills: BenchBlob[];
}

async function pushImage(registry: RunningRegistry, repo: string, tag: string, layers: Buffer[]): Promise<{ manifest: BenchManifest; blobs: GeneratedBlob[] }> {
  const blobs = buildImage({ layers });
  const manifestBlob = blobs[blobs.length - 1];
  if (manifestBlob === undefined) throw new Error('buildImage returned no manifest');
  for (const blob of blobs.slice(0, -1)) await pushBlob(registry, repo, blob.bytes);
  const digest = await pushManifest(registry, repo, tag, manifestBlob.bytes, MediaTypes.ociManifest);
  const manifest = { repo, tag, digest, size: manifestBlob.size, digestPath: `/v2/${repo}/manifests/${digest}`, tagPath: `/v2/${repo}/manifests/${tag}` };
  return { manifest, blobs: blobs.slice(0, -1) };
}

async function imageLayers(): Promise<Buffer[]> {
  return Promise.all(IMAGE_LAYER_MIB.map((mib, i) => makeTarLayer({ [`bench/layer-${i}.bin`]: randomBytes(Math.round(mib * MiB)) }, { gzip: false })));
}

async function pushFillBlobs(registry: RunningRegistry): Promise<BenchBlob[]> {
  const repo = 'bench/fills';
  const blobs: BenchBlob[] = [];
  for (let i = 0; i < FILL_BLOBS; i += 1) {
    const bytes = randomBytes(FILL_BLOB_BYTES);
    const digest = await pushBlob(registry, repo, bytes);
    blobs.push({ repo, digest, size: bytes.length, path: `/v2/${repo}/blobs/${digest}` });
  }
  return blobs;
}

/** Generates and pushes the three images and the small blobs; returns what the rows request. */
export async function seedUpstream(registry: RunningRegistry, blobMiB: number): Promise<BenchContent> {
  const bigLayer = randomBytes(blobMiB * MiB);
  const big = await pushImage(registry, 'bench/big', 'v1', [bigLayer]);
  const bigBlob = big.blobs[0];
  if (bigBlob === undefined) throw new Error('bench/big has no layer');
  const layers = await imageLayers();
  const image = await pushImage(registry, 'bench/image', 'v1', layers);
  const small = await pushImage(registry, 'bench/small', 'v1', [await makeTarLayer({ 'etc/bench.txt': 'regcache bench\n' })]);
  const fills = await pushFillBlobs(registry);
  await registry.settle();
  registry.resetRequests();
  return {
    big: { repo: 'bench/big', digest: bigBlob.digest, size: bigBlob.size, path: `/v2/bench/big/blobs/${bigBlob.digest}` },
    image: { ...image.manifest, layers: layers.length, bytes: layers.reduce((sum, l) => sum + l.length, 0) },
    small: small.manifest,
    fills,
  };
}
