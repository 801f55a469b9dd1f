/**
 * Row 1: N clients GET the big blob at the same moment from an empty cache.
 * - wall: from the common start to the last client's last byte;
 * - upstream fetches: GETs of that blob in the upstream's own access log;
 * - fill end: when the upstream's log line of its first GET of the blob reached the bench — the
 *   upstream has sent the whole body by then (a little after the real end, never before it);
 * - per client time to first body byte, and how many got it before the fill end (streaming
 *   from the growing fill rather than waiting for it);
 * - caches: when the blob was committed to the cache's storage (its file polled); the upstream
 *   fetches are counted only after that (or 60 s), so a background store is included.
 */
import { access } from 'node:fs/promises';
import type { RunningRegistry } from '@regcache/testkit';
import type { BenchBlob } from '../content.js';
import type { Target } from '../targets/index.js';
import { blobGet } from './blob-client.js';
import { expectBody } from './http-get.js';

export interface ColdFillResult {
  clients: number;
  wallS: number;
  upstreamFetches: number;
  /** Seconds from the start to the end of the upstream's first transfer of the blob. */
  fillEndS: number | undefined;
  /** Caches: seconds from the start until the blob was committed to the cache's storage. */
  commitS: number | undefined;
  /** Per client, seconds from the start to its first body byte. */
  ttfbS: number[];
  firstBytesBeforeFillEnd: number | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until path exists; resolves performance.now() then (undefined after the deadline). */
async function whenExists(path: string, deadlineMs: () => number): Promise<number | undefined> {
  while (performance.now() < deadlineMs()) {
    try {
      await access(path);
      return performance.now();
    } catch {
      await sleep(5);
    }
  }
  return undefined;
}

const seconds = (fromMs: number, toMs: number): number => (toMs - fromMs) / 1000;

export async function coldFill(upstream: RunningRegistry, target: Target, blob: BenchBlob, clients: number): Promise<ColdFillResult> {
  await upstream.settle();
  upstream.resetRequests();
  let deadlineMs = Number.POSITIVE_INFINITY;
  const fillEnd = upstream.waitForRequest('GET', blob.path, 600_000).then(
    () => performance.now(),
    () => undefined,
  );
  const commit = target.committedBlobPath === undefined ? Promise.resolve(undefined) : whenExists(target.committedBlobPath(blob), () => deadlineMs);
  const startMs = performance.now();
  const results = await Promise.all(Array.from({ length: clients }, () => blobGet(`${target.url}${blob.path}`))).finally(() => {
    deadlineMs = performance.now() + 60_000; // the commit (fsync, rename, a background store) may follow the last byte sent
  });
  results.forEach((r, i) => expectBody(`client ${i + 1}`, r, blob.size));
  const endMs = Math.max(...results.map((r) => r.endMs));
  const commitMs = await commit;
  await upstream.settle();
  const upstreamFetches = upstream.countRequests('GET', blob.path);
  const fillEndMs = upstreamFetches > 0 ? await fillEnd : undefined;
  const ttfbMs = results.map((r) => r.firstByteMs ?? r.endMs);
  return {
    clients,
    wallS: seconds(startMs, endMs),
    upstreamFetches,
    fillEndS: fillEndMs === undefined ? undefined : seconds(startMs, fillEndMs),
    commitS: commitMs === undefined ? undefined : seconds(startMs, commitMs),
    ttfbS: ttfbMs.map((t) => seconds(startMs, t)),
    firstBytesBeforeFillEnd: fillEndMs === undefined ? undefined : ttfbMs.filter((t) => t < fillEndMs).length,
  };
}
