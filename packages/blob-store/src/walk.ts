/**
 * Cheap listings of the store's directories (readdir only: no stat, no reads), used by
 * recovery and check(). A file is a blob only when its location `<alg>/<xx>/<hex>` is a
 * valid digest whose hex starts with `xx`; anything else under blobs/ is a stray.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '@regcache/registry-protocol';
import { isNotFound } from './errors.js';
import { blobsDir, digestFromLocation, tempDir } from './layout.js';

export interface BlobListing {
  /** Files at valid blob locations, by digest. */
  blobs: Map<Digest, string>;
  /** Paths under blobs/ that are not at a valid blob location (files or directories). */
  strays: string[];
}

interface DirEntry {
  name: string;
  isDirectory(): boolean;
  isFile(): boolean;
}

async function entriesOf(dir: string): Promise<DirEntry[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

async function walkPrefix(dir: string, alg: string, prefix: string, into: BlobListing): Promise<void> {
  for (const file of await entriesOf(dir)) {
    const path = join(dir, file.name);
    const digest = file.isFile() ? digestFromLocation(alg, prefix, file.name) : undefined;
    if (digest === undefined) into.strays.push(path);
    else into.blobs.set(digest, path);
  }
}

/** Every file under `<root>/blobs`, sorted into blobs and strays. */
export async function listBlobFiles(root: string): Promise<BlobListing> {
  const listing: BlobListing = { blobs: new Map(), strays: [] };
  const top = blobsDir(root);
  for (const alg of await entriesOf(top)) {
    if (!alg.isDirectory()) {
      listing.strays.push(join(top, alg.name));
      continue;
    }
    for (const prefix of await entriesOf(join(top, alg.name))) {
      const dir = join(top, alg.name, prefix.name);
      if (prefix.isDirectory()) await walkPrefix(dir, alg.name, prefix.name, listing);
      else listing.strays.push(dir);
    }
  }
  return listing;
}

/** Paths of everything in `<root>/tmp`. */
export async function listTempFiles(root: string): Promise<string[]> {
  const dir = tempDir(root);
  return (await entriesOf(dir)).map((entry) => join(dir, entry.name));
}
