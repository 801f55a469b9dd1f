/**
 * Consistency check and repair, also run (as a repair without re-hashing) at every start.
 * What a crash can leave, and how each is found and fixed:
 *
 *   - files in tmp/                      a write in progress when the process died → removed
 *                                        (writes in progress in *this* process are left alone)
 *   - index entry, no file               crash between unlink and index delete, or files
 *                                        removed by hand → entry (and its links) dropped
 *   - file, no index entry               crash between rename and index put → re-hashed:
 *                                        indexed if it matches its name's digest, else deleted
 *   - stray paths under blobs/           not a valid `<alg>/<xx>/<hex>` location → deleted
 *   - content ≠ digest (rehash only)     bit rot or tampering → file and entry deleted, so
 *                                        the blob is fetched again on the next pull
 *
 * The walk is readdir-only; indexed files are re-hashed only when asked (`rehash`), since
 * that reads every byte of the cache.
 */
import { rm } from 'node:fs/promises';
import type { Digest } from '@regcache/registry-protocol';
import { adoptFile, dropDangling, removeBlob, type BlobOpsContext } from './blob-ops.js';
import { isNotFound } from './errors.js';
import { hashFile } from './fs-util.js';
import { iterateMetas } from './index-db.js';
import { listBlobFiles, listTempFiles } from './walk.js';
import type { CheckOptions, ConsistencyReport } from './types.js';

export interface CheckContext extends BlobOpsContext {
  /** Temp paths of writes in progress. */
  active: ReadonlySet<string>;
}

function sampleOf<T>(items: T[], n: number | undefined): T[] {
  if (n === undefined || n >= items.length) return items;
  const pool = [...items];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, Math.max(0, n));
}

async function checkTemp(ctx: CheckContext, repair: boolean): Promise<number> {
  const leftovers = (await listTempFiles(ctx.root)).filter((path) => !ctx.active.has(path));
  if (repair) await Promise.all(leftovers.map((path) => rm(path, { recursive: true, force: true })));
  return leftovers.length;
}

/** Re-hashes indexed files; the digests whose content does not match (or that vanished mid-check are skipped). */
async function findCorrupt(present: Array<[Digest, string, number]>, opts: CheckOptions): Promise<{ corrupt: Digest[]; bytes: number }> {
  const corrupt: Digest[] = [];
  let bytes = 0;
  for (const [index, [digest, path, size]] of present.entries()) {
    try {
      if ((await hashFile(path, digest)) !== digest) corrupt.push(digest);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    bytes += size;
    opts.onProgress?.({ done: index + 1, total: present.length, bytes });
  }
  return { corrupt, bytes };
}

async function repairAll(ctx: CheckContext, report: ConsistencyReport, unindexed: Digest[], strays: string[]): Promise<void> {
  for (const digest of report.missingFiles) await dropDangling(ctx, digest);
  for (const digest of unindexed) await adoptFile(ctx, digest);
  for (const path of strays) await rm(path, { recursive: true, force: true });
  for (const digest of report.corrupt) await removeBlob(ctx, digest);
}

export async function runCheck(ctx: CheckContext, opts: CheckOptions = {}): Promise<ConsistencyReport> {
  const repair = opts.repair === true;
  const tempFiles = await checkTemp(ctx, repair);
  const { blobs: files, strays } = await listBlobFiles(ctx.root);
  const missingFiles: Digest[] = [];
  const present: Array<[Digest, string, number]> = [];
  let checked = 0;
  for await (const meta of iterateMetas(ctx.db)) {
    checked++;
    const path = files.get(meta.digest);
    if (path === undefined) missingFiles.push(meta.digest);
    else present.push([meta.digest, path, meta.size]);
    files.delete(meta.digest);
  }
  const unindexed = [...files.keys()];
  checked += unindexed.length;
  const rehashed = opts.rehash === true ? sampleOf(present, opts.sample) : [];
  const { corrupt, bytes } = await findCorrupt(rehashed, opts);
  const report: ConsistencyReport = {
    checked,
    missingFiles,
    unindexedFiles: [...files.values(), ...strays],
    corrupt,
    rehashed: rehashed.length,
    rehashedBytes: bytes,
    tempFiles,
    repaired: repair,
  };
  if (repair) await repairAll(ctx, report, unindexed, strays);
  return report;
}
