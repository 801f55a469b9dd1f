/**
 * Manifests the upstream said it does not have (404), remembered for the upstream's
 * `notFoundTtl` (off at 0, the default): within it the same request is answered with the same
 * MANIFEST_UNKNOWN without asking again. Against fleets retrying a wrong image name — each
 * kubelet backing off on its own, hundreds of requests a minute that Docker Hub may count —
 * it leaves one request per TTL. The price is the TTL: a tag pushed upstream after a 404 is
 * seen when it ends (or after `regcache-admin expire`, which forgets the 404 as well).
 *
 * Bounded: past MAX_ENTRIES the oldest entry goes first.
 */
import { UpstreamRefusedError } from './errors.js';

const MAX_ENTRIES = 10_000;

export interface NotFoundMemo {
  /** The remembered 404 for `key`, while it lasts. */
  get(key: string): UpstreamRefusedError | undefined;
  /** Remembers `error` for `key` if it is a 404 and `ttlMs` > 0. */
  remember(key: string, error: unknown, ttlMs: number): void;
  /** Forgets every entry whose key starts with `prefix`. */
  /** Forgets every entry under `prefix`; true when there was one. */
  forget(prefix: string): boolean;
}

export function createNotFoundMemo(now: () => number = Date.now): NotFoundMemo {
  const entries = new Map<string, { error: UpstreamRefusedError; until: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.until > now()) return entry.error;
      entries.delete(key);
      return undefined;
    },
    remember(key, error, ttlMs) {
      if (ttlMs <= 0 || !(error instanceof UpstreamRefusedError) || error.status !== 404) return;
      entries.delete(key);
      entries.set(key, { error, until: now() + ttlMs });
      if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value ?? key);
    },
    forget(prefix) {
      let forgot = false;
      for (const key of entries.keys()) if (key.startsWith(prefix)) forgot = entries.delete(key) || forgot;
      return forgot;
    },
  };
}
