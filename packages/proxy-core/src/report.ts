/**
 * The stats report: computed from the store (its index and persistent counters), so the
 * admin API (server running) and the CLI (store opened directly) give the same answer from
 * the same function. Only the upstreams' rate-limit state is live (what the running server
 * last heard); with no server it is null.
 */
import { isManifestMediaType } from '@regcache/registry-protocol';
import type { BlobStore } from '@regcache/blob-store';
import { SERVED_PREFIX } from './stats.js';

export interface UpstreamStats {
  hits: number;
  misses: number;
  coalesced: number;
  stale: number;
  bytesFromCache: number;
  bytesFromUpstream: number;
  upstreamErrors: number;
  hitRatio: number;
  /** Docker Hub's `ratelimit-remaining` as the running server last heard it; null if unknown. */
  rateLimitRemaining: number | null;
}

export interface RepositoryTraffic {
  repository: string;
  bytesServed: number;
}

export interface StatsReport extends UpstreamStats {
  sizeBytes: number;
  maxSizeBytes: number | null;
  blobs: number;
  manifests: number;
  tags: number;
  repositories: number;
  fillFailures: number;
  /** Blobs stored by prefetch, ahead of their clients (prefetch.ts). */
  prefetches: number;
  /** Manifests and blobs that upstreams' mirrors answered (upstream/mirrors.ts). */
  mirrorFetches: number;
  diskErrors: number;
  /**
   * Requests answered UNAVAILABLE because the store (its files or its index) failed: the cache's
   * own failures, kept apart from `upstreamErrors`. (A write the disk refused while the answer
   * still went out is a `diskErrors`.)
   */
  storeErrors: number;
  upstreams: Record<string, UpstreamStats>;
  /** The repositories that served the most bytes, most first. */
  topRepositories: RepositoryTraffic[];
}

export interface StatsContext {
  maxSizeBytes?: number;
  /** Configured upstreams: listed even before they see traffic. */
  upstreams?: readonly string[];
  rateLimitRemaining?(upstream: string): number | undefined;
}

const COUNTERS = ['hits', 'misses', 'coalesced', 'stale', 'bytesFromCache', 'bytesFromUpstream', 'upstreamErrors'] as const;
const TOP_REPOSITORIES = 10;

function ratio(hits: number, misses: number): number {
  return hits + misses === 0 ? 0 : Math.round((hits / (hits + misses)) * 1000) / 1000;
}

function upstreamStats(counters: Readonly<Record<string, number>>, suffix: string, rateLimit: number | undefined): UpstreamStats {
  const pick = (name: string): number => counters[`${name}${suffix}`] ?? 0;
  const values = Object.fromEntries(COUNTERS.map((name) => [name, pick(name)])) as Record<(typeof COUNTERS)[number], number>;
  return { ...values, hitRatio: ratio(values.hits, values.misses), rateLimitRemaining: rateLimit ?? null };
}

async function storeCounts(store: BlobStore): Promise<Pick<StatsReport, 'sizeBytes' | 'blobs' | 'manifests' | 'tags' | 'repositories'>> {
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
  for await (const link of store.links()) repositories.add(`${link.upstream}/${link.repo}`);
  return { sizeBytes, blobs, manifests, tags, repositories: repositories.size };
}

function topRepositories(counters: Readonly<Record<string, number>>): RepositoryTraffic[] {
  return Object.entries(counters)
    .filter(([key]) => key.startsWith(SERVED_PREFIX))
    .map(([key, bytesServed]) => ({ repository: key.slice(SERVED_PREFIX.length), bytesServed }))
    .sort((a, b) => b.bytesServed - a.bytesServed || (a.repository < b.repository ? -1 : 1))
    .slice(0, TOP_REPOSITORIES);
}

export async function collectStats(store: BlobStore, ctx: StatsContext = {}): Promise<StatsReport> {
  const counts = await storeCounts(store);
  const counters = await store.counters();
  const names = new Set(ctx.upstreams ?? []);
  for (const key of Object.keys(counters)) if (key.includes('@') && !key.startsWith(SERVED_PREFIX)) names.add(key.slice(key.indexOf('@') + 1));
  const upstreams: Record<string, UpstreamStats> = {};
  for (const name of [...names].sort()) upstreams[name] = upstreamStats(counters, `@${name}`, ctx.rateLimitRemaining?.(name));
  return {
    ...counts,
    maxSizeBytes: ctx.maxSizeBytes ?? null,
    ...upstreamStats(counters, '', undefined),
    fillFailures: counters.fillFailures ?? 0,
    prefetches: counters.prefetches ?? 0,
    mirrorFetches: counters.mirrorFetches ?? 0,
    diskErrors: counters.diskErrors ?? 0,
    storeErrors: counters.storeErrors ?? 0,
    upstreams,
    topRepositories: topRepositories(counters),
  };
}
