/**
 * verify: re-hash stored blobs (all, or a random sample) and report any whose content no
 * longer matches its digest — bit rot, a bad disk, a hand edit — together with index entries
 * whose file is gone, files without an entry, and leftover temp files. With `repair` the
 * corrupt blobs are deleted (file, entry and links), so the next pull fetches them again.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobStore } from '@regcache/blob-store';
import { OperationInputError } from './operation-errors.js';

export interface VerifyOptions {
  /** Re-hash only this many blobs, chosen at random. */
  sample?: number;
  repair?: boolean;
}

export interface VerifyProgress {
  done: number;
  total: number;
  bytes: number;
}

export interface VerifyResult {
  sample: number | null;
  /** Blobs re-hashed, and their bytes. */
  verified: number;
  verifiedBytes: number;
  corrupt: Digest[];
  missingFiles: Digest[];
  unindexedFiles: number;
  tempFiles: number;
  repaired: boolean;
  /** True when nothing is wrong (or everything wrong was repaired). */
  ok: boolean;
}

export async function verifyStore(store: BlobStore, opts: VerifyOptions, onProgress?: (p: VerifyProgress) => void): Promise<VerifyResult> {
  if (opts.sample !== undefined && !(Number.isSafeInteger(opts.sample) && opts.sample > 0)) {
    throw new OperationInputError(`--sample must be a positive whole number, not ${String(opts.sample)}`);
  }
  const repair = opts.repair === true;
  const report = await store.check({ rehash: true, repair, sample: opts.sample, onProgress });
  const problems = report.corrupt.length + report.missingFiles.length + report.unindexedFiles.length + report.tempFiles;
  return {
    sample: opts.sample ?? null,
    verified: report.rehashed,
    verifiedBytes: report.rehashedBytes,
    corrupt: report.corrupt,
    missingFiles: report.missingFiles,
    unindexedFiles: report.unindexedFiles.length,
    tempFiles: report.tempFiles,
    repaired: repair,
    ok: problems === 0 || repair,
  };
}
