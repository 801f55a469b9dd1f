/** Test helpers: fresh store roots (removed after each test), digests, stream collection. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { parseDigest, type Digest, type DigestAlgorithm } from '@regcache/registry-protocol';
import { createBlobStore, type BlobStore, type BlobStoreOptions } from '../src/index.js';

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  const parsed = parseDigest(`${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

export function blob(size: number): { bytes: Buffer; digest: Digest } {
  const bytes = randomBytes(size);
  return { bytes, digest: digestOf(bytes) };
}

export async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * Per-test fixtures: `root()` makes a fresh directory, `open()` a store on it; after each
 * test every store opened is closed and every directory removed.
 */
export function useFixtures(): {
  root(): Promise<string>;
  open(opts: Partial<BlobStoreOptions> & { root: string }): Promise<BlobStore>;
} {
  const dirs: string[] = [];
  const stores: BlobStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return {
    async root() {
      const dir = await mkdtemp(join(tmpdir(), 'regcache-blob-store-'));
      dirs.push(dir);
      return join(dir, 'store');
    },
    async open(opts) {
      const store = await createBlobStore(opts);
      stores.push(store);
      return store;
    },
  };
}
