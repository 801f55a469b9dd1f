/**
 * Row 2: the big blob, already cached, read by one client at a time (several reads, median
 * MiB/s), then once more untimed with a sha256 check — a cache serving wrong bytes fast must
 * not win. Upstream GETs of the blob during the reads are counted (a cache should make none).
 */
import type { RunningRegistry } from '@regcache/testkit';
import type { BenchBlob } from '../content.js';
import type { Target } from '../targets/index.js';
import { median } from '../stats.js';
import { blobGet } from './blob-client.js';
import { expectBody } from './http-get.js';

export interface WarmBlobResult {
  mibPerS: number;
  samplesMiBPerS: number[];
  upstreamFetches: number;
}

const MiB = 1024 * 1024;

export async function warmBlob(upstream: RunningRegistry, target: Target, blob: BenchBlob, reads = 3): Promise<WarmBlobResult> {
  const url = `${target.url}${blob.path}`;
  await upstream.settle();
  upstream.resetRequests();
  const samples: number[] = [];
  for (let i = 0; i < reads; i += 1) {
    const result = await blobGet(url);
    expectBody(`warm read ${i + 1}`, result, blob.size);
    samples.push(blob.size / MiB / ((result.endMs - result.startMs) / 1000));
  }
  await upstream.settle();
  const upstreamFetches = upstream.countRequests('GET', blob.path);
  const checked = await blobGet(url, { hash: true });
  expectBody('warm read (checked)', checked, blob.size);
  if (checked.digest !== blob.digest) throw new Error(`warm read: body hashes to ${checked.digest ?? '?'}, expected ${blob.digest}`);
  return { mibPerS: median(samples), samplesMiBPerS: samples, upstreamFetches };
}
