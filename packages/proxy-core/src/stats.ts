/**
 * Counters of what the cache did, per upstream and in total. Kept in memory and added to the
 * store's persistent counters in batches (the store flushes them), so `regcache-admin stats`
 * sees totals across restarts and a request never costs a LevelDB write.
 */
import type { BlobStore } from '@regcache/blob-store';

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

export interface Stats {
  add(name: StatName, upstream: string | undefined, value?: number): void;
  /** In-memory totals since start: `hits`, and `hits@docker.io` per upstream. */
  snapshot(): Readonly<Record<string, number>>;
}

export function createStats(store: BlobStore): Stats {
  const totals: Record<string, number> = {};
  const bump = (key: string, value: number): void => {
    totals[key] = (totals[key] ?? 0) + value;
  };
  return {
    add(name, upstream, value = 1) {
      if (value === 0) return;
      bump(name, value);
      const deltas: Record<string, number> = { [name]: value };
      if (upstream !== undefined) {
        bump(`${name}@${upstream}`, value);
        deltas[`${name}@${upstream}`] = value;
      }
      store.addCounters(deltas);
    },
    snapshot: () => ({ ...totals }),
  };
}
