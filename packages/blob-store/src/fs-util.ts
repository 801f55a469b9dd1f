/** Small filesystem helpers: durable directory entries, full writes, hashing a file. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { digestAlgorithm, type Digest } from '@regcache/registry-protocol';
import { isNotFound } from './errors.js';

/**
 * fsyncs a directory so that a rename or unlink in it survives a power loss. Without it a
 * committed blob could vanish after a power loss while its index entry (written later)
 * survived — the index would then name a missing file until the next recovery.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * mkdir -p that survives a crash: when it creates directories (a blob's first use of
 * `<alg>/` or `<xx>/`), the parent of each new one is fsynced, so the entry of the new
 * directory is durable before a file renamed into it is indexed.
 */
export async function makeDirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    await fsyncDir(dirname(d));
    if (d === first) break;
  }
}

/** Writes all of `chunks`, in order, at the handle's current position (writev may be short). */
export async function writevAll(handle: FileHandle, chunks: readonly Uint8Array[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    let i = 0;
    while (i < rest.length && bytesWritten >= (rest[i] as Uint8Array).byteLength) bytesWritten -= (rest[i++] as Uint8Array).byteLength;
    const partial = rest[i];
    rest = partial === undefined ? [] : [partial.subarray(bytesWritten), ...rest.slice(i + 1)];
  }
}

/** The digest of a file's content, computed with the algorithm of `expected`, streamed. */
export async function hashFile(path: string, expected: Digest): Promise<string> {
  const algorithm = digestAlgorithm(expected);
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), hash);
  return `${algorithm}:${hash.digest('hex')}`;
}

/** Removes a file; true if it existed. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
