/**
 * Per-instance freshness state for the answers that can change upstream — tags and tag
 * lists — and the one rule for when a cached answer is served stale.
 *
 * - Revalidations are shared: when a popular tag's TTL runs out, the clients asking at that
 *   moment wait on one HEAD upstream instead of sending one each — and those arriving just
 *   after it (they read the expired record while it ran) reuse its outcome for a moment.
 * - Tag lists are kept in memory (bounded, least recently used dropped first): they are
 *   small, change often, and losing them on restart costs one upstream request each.
 */
import type { Digest } from '@regcache/registry-protocol';
import { UpstreamRateLimitedError, UpstreamUnavailableError } from './errors.js';

/** One page of a tag list as the upstream sent it; `next` is its `Link: rel="next"` target. */
export interface TagListPage {
  readonly tags: readonly string[];
  readonly next: { n: number; last: string } | undefined;
  readonly fetchedAt: number;
}

export interface TagListCache {
  get(key: string): TagListPage | undefined;
  put(key: string, page: TagListPage): void;
  delete(key: string): void;
}

export interface Freshness {
  readonly tagLists: TagListCache;
  /** Runs `revalidate` once per key at a time; callers until `reuseMs` after it settles share its outcome. */
  revalidate(key: string, reuseMs: number, revalidate: () => Promise<Digest | undefined>): Promise<Digest | undefined>;
}

const MAX_TAG_LISTS = 2_000;
/** How long a settled revalidation answers latecomers (capped by the tag TTL). */
const REUSE_MS = 1_000;
const MAX_TAG_LIST_TAGS = 2_000_000;

/**
 * Stale-if-error: the upstream could not answer (unreachable, timed out, 5xx) or is
 * rate-limiting. A refusal (401/403/404) is an answer, and is not papered over.
 */
export function servesStale(error: unknown): boolean {
  return error instanceof UpstreamUnavailableError || error instanceof UpstreamRateLimitedError;
}

export function createFreshness(): Freshness {
  const inflight = new Map<string, Promise<Digest | undefined>>();
  return {
    tagLists: createTagListCache(MAX_TAG_LISTS, MAX_TAG_LIST_TAGS),
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

/** An LRU over a Map's insertion order, bounded by entries and by the tags they hold. */
export function createTagListCache(maxEntries: number, maxTags: number): TagListCache {
  const pages = new Map<string, TagListPage>();
  let tags = 0;
  const remove = (key: string): void => {
    const page = pages.get(key);
    if (page === undefined) return;
    pages.delete(key);
    tags -= page.tags.length;
  };
  return {
    get(key) {
      const page = pages.get(key);
      if (page !== undefined) {
        pages.delete(key);
        pages.set(key, page);
      }
      return page;
    },
    put(key, page) {
      remove(key);
      if (page.tags.length > maxTags) return;
      pages.set(key, page);
      tags += page.tags.length;
      for (const oldest of pages.keys()) {
        if (pages.size <= maxEntries && tags <= maxTags) break;
        remove(oldest);
      }
    },
    delete: remove,
  };
}
