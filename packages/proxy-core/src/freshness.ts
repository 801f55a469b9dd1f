/**
 * Per-instance freshness state for the answers that can change upstream — tags, tag lists and
 * referrers lists — and the one rule for when a cached answer is served stale.
 *
 * - Revalidations are shared: when a popular tag's TTL runs out, the clients asking at that
 *   moment wait on one HEAD upstream instead of sending one each — and those arriving just
 *   after it (they read the expired record while it ran) reuse its outcome for a moment.
 * - Tag lists and referrers lists are kept in memory (bounded, least recently used dropped
 *   first): they are small, change often, and losing them on restart costs one upstream
 *   request each.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { CacheParts, RequestState } from './context.js';
import { UpstreamContentError, UpstreamRateLimitedError, UpstreamUnavailableError } from './errors.js';
import { failedUpstream } from './metrics.js';
import type { UpstreamState } from './upstream/client.js';

/** One page of a tag list as the upstream sent it; `next` is its `Link: rel="next"` target. */
export interface TagListPage {
  readonly tags: readonly string[];
  readonly next: { n: number; last: string } | undefined;
  readonly fetchedAt: number;
}

/** A referrers list (an OCI index) as the upstream sent it, with its OCI-Filters-Applied. */
export interface ReferrersPage {
  readonly bytes: Buffer;
  readonly filtersApplied: string | undefined;
  readonly fetchedAt: number;
}

export interface LruCache<T> {
  get(key: string): T | undefined;
  put(key: string, value: T): void;
  delete(key: string): void;
}

export type TagListCache = LruCache<TagListPage>;

export interface Freshness {
  readonly tagLists: TagListCache;
  readonly referrers: LruCache<ReferrersPage>;
  /** Runs `revalidate` once per key at a time; callers until `reuseMs` after it settles share its outcome. */
  revalidate(key: string, reuseMs: number, revalidate: () => Promise<Digest | undefined>): Promise<Digest | undefined>;
}

const MAX_TAG_LISTS = 2_000;
/** How long a settled revalidation answers latecomers (capped by the tag TTL). */
const REUSE_MS = 1_000;
const MAX_TAG_LIST_TAGS = 2_000_000;
const MAX_REFERRERS_LISTS = 1_000;
/** A referrers list may be up to 4 MiB (referrers.ts): these bound the lot, not each. */
const MAX_REFERRERS_BYTES = 32 * 1024 * 1024;

/**
 * Stale-if-error: the upstream could not answer (unreachable, timed out, 5xx, a body cut short),
 * is rate-limiting, or answered with what it cannot have meant (a manifest or tag list that does
 * not parse or match its digest) — nginx's `proxy_cache_use_stale error timeout invalid_header
 * http_5xx http_429`. A refusal (401/403/404) is an answer, and is not papered over.
 */
export function servesStale(error: unknown): boolean {
  return error instanceof UpstreamUnavailableError || error instanceof UpstreamRateLimitedError || error instanceof UpstreamContentError;
}

/** How long after an upstream's last timeout it is suspected of not answering at all. */
const SUSPECT_MS = 60_000;
/** How long a revalidation with a stale copy to fall back on waits on a suspected upstream. */
const SUSPECT_WAIT_MS = 1_000;

/**
 * A revalidation's answer — bounded while the upstream is suspect: when a request to it timed
 * out in the last minute with no answer since, a revalidation waits only a second before its
 * caller serves what it holds, instead of `timeouts.headers` (30 s) per tag and per request
 * while an upstream silently drops packets. The revalidation itself runs on (shared, see
 * `revalidate`); the first answer from the upstream ends the suspicion.
 */
export function boundedWhileSuspect<T>(revalidation: Promise<T>, upstream: { name: string; state: Readonly<UpstreamState> }): Promise<T> {
  const { timedOutAt } = upstream.state;
  if (timedOutAt === 0 || Date.now() - timedOutAt > SUSPECT_MS) return revalidation;
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new UpstreamUnavailableError(upstream.name, 'timeout')), SUSPECT_WAIT_MS);
  });
  return Promise.race([revalidation, waited]).finally(() => clearTimeout(timer));
}

/**
 * A cached answer about to go out stale: counted (stale, and the upstream's error) and marked
 * for the client. The `cause` goes to the metric too: a failure after the head (a body cut or
 * stalled) reaches it nowhere else; one the upstream client counted already is not counted twice.
 */
export function markStale(parts: Pick<CacheParts, 'stats' | 'metrics'>, rs: RequestState, cause?: unknown): void {
  const name = rs.upstream.config.name;
  parts.stats.add('stale', name);
  parts.stats.add('upstreamErrors', name);
  if (cause !== undefined) parts.metrics.upstreamError(failedUpstream(cause) ?? name, cause);
  rs.res.setHeader('x-regcache-stale', 'true');
}

export function createFreshness(): Freshness {
  const inflight = new Map<string, Promise<Digest | undefined>>();
  return {
    tagLists: createLruCache<TagListPage>(MAX_TAG_LISTS, MAX_TAG_LIST_TAGS, (page) => page.tags.length),
    referrers: createLruCache<ReferrersPage>(MAX_REFERRERS_LISTS, MAX_REFERRERS_BYTES, (page) => page.bytes.length),
    revalidate(key, reuseMs, revalidate) {
      const shared = inflight.get(key);
      if (shared) return shared;
      const started = revalidate();
      inflight.set(key, started);
      const forget = (): void => {
        const timer = setTimeout(() => {
          if (inflight.get(key) === started) inflight.delete(key);
        }, Math.min(reuseMs, REUSE_MS));
        timer.unref();
      };
      started.then(forget, forget);
      return started;
    },
  };
}

/**
 * An LRU over a Map's insertion order, bounded by entries and by their total weight (the tags
 * of a tag list, the bytes of a referrers list); a value heavier than the bound is not kept.
 */
export function createLruCache<T>(maxEntries: number, maxWeight: number, weigh: (value: T) => number): LruCache<T> {
  const values = new Map<string, T>();
  let weight = 0;
  const remove = (key: string): void => {
    const value = values.get(key);
    if (value === undefined) return;
    values.delete(key);
    weight -= weigh(value);
  };
  return {
    get(key) {
      const value = values.get(key);
      if (value !== undefined) {
        values.delete(key);
        values.set(key, value);
      }
      return value;
    },
    put(key, value) {
      remove(key);
      if (weigh(value) > maxWeight) return;
      values.set(key, value);
      weight += weigh(value);
      for (const oldest of values.keys()) {
        if (values.size <= maxEntries && weight <= maxWeight) break;
        remove(oldest);
      }
    },
    delete: remove,
  };
}
