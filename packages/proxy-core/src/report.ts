/**
 * The stats report: computed from the store alone, so the admin API (server running) and
 * the CLI (store opened directly) give the same answer from the same function.
 */
import { isManifestMediaType } from '@regcache/registry-protocol';
import type { BlobStore } from '@regcache/blob-store';

export interface UpstreamStats {
  hits: number;
  misses: number;
  coalesced: number;
  stale: number;
  bytesFromCache: number;
  bytesFromUpstream: number;
  upstreamErrors: number;
  hitRatio: number;
}

export interface StatsReport extends UpstreamStats {
  sizeBytes: number;
  maxSizeBytes: number | null;
  blobs: number;
  manifests: number;
  tags: number;
  repositories: number;
  fillFailures: number;
  upstreams: Record<string, UpstreamStats>;
}

const COUNTERS = ['hits', 'misses', 'coalesced', 'stale', 'bytesFromCache', 'bytesFromUpstream', 'upstreamErrors'] as const;

function ratio(hits: number, misses: number): number {
  return hits + misses === 0 ? 0 : Math.round((hits / (hits + misses)) * 1000) / 1000;
}

function upstreamStats(counters: Readonly<Record<string, number>>, suffix: string): UpstreamStats {
  const pick = (name: string): number => counters[`${name}${suffix}`] ?? 0;
  const values = Object.fromEntries(COUNTERS.map((name) => [name, pick(name)])) as Record<(typeof COUNTERS)[number], number>;
  return { ...values, hitRatio: ratio(values.hits, values.misses) };
}

export async function collectStats(store: BlobStore, maxSizeBytes?: number): Promise<StatsReport> {
  let sizeBytes = 0;
  let blobs = 0;
  let manifests = 0;
  for await (const meta of store.blobs()) {
    sizeBytes += meta.size;
    if (meta.mediaType !== undefined && isManifestMediaType(meta.mediaType)) manifests++;
    else blobs++;
  }
  let tags = 0;
  const repositories = new Set<string>();
  for await (const entry of store.tags()) {
    tags++;
    repositories.add(`${entry.upstream}/${entry.repo}`);
  }
  const counters = await store.counters();
  const names = new Set(Object.keys(counters).flatMap((key) => (key.includes('@') ? [key.slice(key.indexOf('@') + 1)] : [])));
  const upstreams: Record<string, UpstreamStats> = {};
  for (const name of [...names].sort()) upstreams[name] = upstreamStats(counters, `@${name}`);
  return {
    sizeBytes,
    maxSizeBytes: maxSizeBytes ?? null,
    blobs,
    manifests,
    tags,
    repositories: repositories.size,
    ...upstreamStats(counters, ''),
    fillFailures: counters.fillFailures ?? 0,
    upstreams,
  };
}
