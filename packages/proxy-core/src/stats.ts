/**
 * Counters of what the cache did, per upstream and in total. Kept in memory and added to the
 * store's persistent counters in batches (the store flushes them), so `regcache-admin stats`
 * sees totals across restarts and a request never costs a LevelDB write.
 *
 * Counter keys in the store: `hits` (total), `hits@docker.io` (per upstream), and
 * `served:docker.io/library/alpine` (body bytes served per repository).
 */
import type { BlobStore } from '@regcache/blob-store';
import type { CacheResult, RequestObserver } from './context.js';

export type StatName =
  | 'hits'
  | 'misses'
  | 'coalesced'
  | 'stale'
  | 'bytesFromCache'
  | 'bytesFromUpstream'
  | 'upstreamErrors'
  | 'fillFailures'
  | 'diskErrors';

/** Prefix of the per-repository served-bytes counters. */
export const SERVED_PREFIX = 'served:';

export interface Stats {
  add(name: StatName, upstream: string | undefined, value?: number): void;
  /** Body bytes served for `upstream/repo`. */
  served(upstream: string, repo: string, bytes: number): void;
  /** In-memory totals since start: `hits`, and `hits@docker.io` per upstream. */
  snapshot(): Readonly<Record<string, number>>;
}

export function createStats(store: BlobStore): Stats {
  const totals: Record<string, number> = {};
  const keys = new Map<string, Map<string, string>>();
  /** `hits@docker.io`, built once per name and upstream rather than per request. */
  const perUpstream = (name: string, upstream: string): string => {
    let byName = keys.get(upstream);
    if (byName === undefined) keys.set(upstream, (byName = new Map()));
    let key = byName.get(name);
    if (key === undefined) byName.set(name, (key = `${name}@${upstream}`));
    return key;
  };
  const bump = (key: string, value: number): void => {
    totals[key] = (totals[key] ?? 0) + value;
  };
  return {
    add(name, upstream, value = 1) {
      if (value === 0) return;
      bump(name, value);
      const deltas: Record<string, number> = { [name]: value };
      if (upstream !== undefined) {
        const key = perUpstream(name, upstream);
        bump(key, value);
        deltas[key] = value;
      }
      store.addCounters(deltas);
    },
    served(upstream, repo, bytes) {
      if (bytes > 0) store.addCounters({ [`${SERVED_PREFIX}${upstream}/${repo}`]: bytes });
    },
    snapshot: () => ({ ...totals }),
  };
}

const SERVING: ReadonlySet<CacheResult> = new Set(['hit', 'miss', 'coalesced', 'stale', 'pass']);

/** Counts served bytes per repository (as the upstream knows it) from the answered-request records. */
export function servedBytesObserver(stats: Stats): RequestObserver {
  return (record) => {
    if (record.upstream === undefined || record.repo === undefined || record.bytes <= 0 || !SERVING.has(record.cache)) return;
    stats.served(record.upstream, record.repo, record.bytes);
  };
}
