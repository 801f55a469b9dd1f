/**
 * The on-disk layout of a blob store — the one place that turns digests into paths (like
 * distribution's registry/storage/paths.go). Everything else asks these functions.
 *
 *   <root>/
 *   ├── blobs/
 *   │   ├── sha256/
 *   │   │   └── ab/                      first two hex characters: keeps directories small
 *   │   │       └── ab12…ef              committed, verified blob (file name = full hex)
 *   │   └── sha512/
 *   │       └── 9f/9f3c…01
 *   ├── tmp/
 *   │   └── <random>.part                in-progress writes
 *   └── index/                           LevelDB index (metadata, links, tags, counters)
 *
 * Paths come only from validated `Digest`s (the branded type from registry-protocol, whose
 * parser admits only `sha256:` / `sha512:` followed by lowercase hex), never from a name a
 * client sent, so no path built here can contain `/`, `..` or NUL.
 *
 * tmp/ lives under the same root as blobs/ so that both are on one filesystem: committing
 * a write is then a single atomic rename(2) — a reader sees either no blob or the whole
 * verified blob, never a partial one. (createBlobStore checks both are on one device.)
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  digestAlgorithm,
  digestHex,
  isDigestAlgorithm,
  makeDigest,
  type Digest,
  type DigestAlgorithm,
} from '@regcache/registry-protocol';

const BLOBS = 'blobs';
const TMP = 'tmp';
const INDEX = 'index';
/** Suffix of in-progress writes in tmp/. */
export const TEMP_SUFFIX = '.part';

/** `<root>/blobs`: the root of all committed blobs. */
export function blobsDir(root: string): string {
  return join(root, BLOBS);
}

/** `<root>/blobs/<alg>/<first two hex>`: the directory a blob's file lives in. */
export function blobDir(root: string, digest: Digest): string {
  return join(root, BLOBS, digestAlgorithm(digest), digestHex(digest).slice(0, 2));
}

/** `<root>/blobs/<alg>/<first two hex>/<hex>`: where the committed blob `digest` lives. */
export function blobPath(root: string, digest: Digest): string {
  return join(blobDir(root, digest), digestHex(digest));
}

/** `<root>/tmp`: in-progress writes (same filesystem as blobs/, so commit is a rename). */
export function tempDir(root: string): string {
  return join(root, TMP);
}

/** `<root>/index`: the LevelDB index directory. */
export function indexDir(root: string): string {
  return join(root, INDEX);
}

/** A fresh, unguessable temp file path `<root>/tmp/<random>.part` for one writer. */
export function newTempPath(root: string): string {
  return join(root, TMP, `${randomBytes(12).toString('hex')}${TEMP_SUFFIX}`);
}

/**
 * The reverse of blobPath for a file found while walking blobs/: the digest named by
 * `<alg>/<prefix>/<hex>`, or undefined when the three parts are not a valid, consistent
 * blob location (unknown algorithm, bad hex, or a file in the wrong prefix directory).
 */
export function digestFromLocation(alg: string, prefix: string, hex: string): Digest | undefined {
  if (!isDigestAlgorithm(alg)) return undefined;
  const parsed = makeDigest(alg satisfies DigestAlgorithm, hex);
  if (!parsed.ok || hex.slice(0, 2) !== prefix) return undefined;
  return parsed.value;
}
