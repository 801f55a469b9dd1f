/**
 * Rows 3 and 4, the small-request loads, both on bench/small's manifest with an Accept for every
 * manifest kind (as docker/containerd send):
 * - manifest GET by digest: primed with one GET (the cache fills), then wrk;
 * - HEAD by tag within the TTL: primed with one GET by tag, then ab -k -i; the upstream's
 *   requests during the load are counted (a cache inside its TTL should send none).
 * Errors in the load (non-2xx, socket errors) fail the row.
 */
import { ACCEPT_ALL_MANIFESTS, type RunningRegistry } from '@regcache/testkit';
import type { BenchManifest } from '../content.js';
import type { Tools } from '../prerequisites.js';
import type { Target } from '../targets/index.js';
import { expectBody, timedGet } from './http-get.js';
import { runAbHead, runWrk, type LoadResult } from './load-tools.js';

export interface LoadRowOptions {
  connections: number;
  durationS: number;
}

export interface HeadTagResult extends LoadResult {
  upstreamRequests: number;
}

const HEADERS = { accept: ACCEPT_ALL_MANIFESTS };

function checkLoad(what: string, result: LoadResult): void {
  if (result.errors > 0) throw new Error(`${what}: ${result.errors} of ${result.requests} requests failed or were not 2xx`);
}

async function prime(url: string, manifest: BenchManifest): Promise<void> {
  const result = await timedGet(url, { headers: HEADERS });
  expectBody(`prime ${url}`, result, manifest.size);
  const digest = result.headers['docker-content-digest'];
  if (digest !== manifest.digest) throw new Error(`prime ${url}: Docker-Content-Digest ${String(digest)}, expected ${manifest.digest}`);
}

/** Row 3: wrk GET of the manifest by digest, after one priming GET. */
export async function manifestGetByDigest(tools: Tools, target: Target, manifest: BenchManifest, opts: LoadRowOptions): Promise<LoadResult> {
  const url = `${target.url}${manifest.digestPath}`;
  await prime(url, manifest);
  const result = await runWrk(tools.wrk, { url, headers: HEADERS, ...opts });
  checkLoad('manifest GET by digest', result);
  return result;
}

/** Row 4: ab HEAD of the manifest by tag, after one priming GET by tag; counts upstream requests during the load. */
export async function headByTag(tools: Tools, upstream: RunningRegistry, target: Target, manifest: BenchManifest, opts: LoadRowOptions): Promise<HeadTagResult> {
  const url = `${target.url}${manifest.tagPath}`;
  await prime(url, manifest);
  await upstream.settle();
  upstream.resetRequests();
  const result = await runAbHead(tools.ab, { url, headers: HEADERS, ...opts });
  await upstream.settle();
  const upstreamRequests = upstream.requests().length;
  checkLoad('HEAD by tag', result);
  return { ...result, upstreamRequests };
}
