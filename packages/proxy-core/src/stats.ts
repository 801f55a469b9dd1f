/**
 * Counters of what the cache did, per upstream and in total. Kept in memory and added to the
 * store's persistent counters in batches (the store flushes them), so `regcache-admin stats`
 * sees totals across restarts and a request never costs a LevelDB write.
 *
 * Counter keys in the store: `hits` (total), `hits@docker.io` (per upstream), and
 * `served:docker.io/library/alpine` (body bytes served per repository).
 */
import { normalizeDockerHubName, parseRequestTarget, splitFirstComponent } from '@regcache/registry-protocol';
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
    served(upstream, repo, bytes) {
      if (bytes > 0) store.addCounters({ [`${SERVED_PREFIX}${upstream}/${repo}`]: bytes });
    },
    snapshot: () => ({ ...totals }),
  };
}

const SERVING: ReadonlySet<CacheResult> = new Set(['hit', 'miss', 'coalesced', 'stale', 'pass']);

/**
 * Counts served bytes per repository from the answered-request records. The repository is
 * the one the upstream knows, found the way the router finds it: an upstream prefix stripped
 * (unless `ns=` named the upstream), `library/` added for Docker Hub.
 */
export function servedBytesObserver(stats: Stats): RequestObserver {
  return (record) => {
    if (record.upstream === undefined || record.bytes <= 0 || !SERVING.has(record.cache)) return;
    const target = parseRequestTarget(record.path);
    if (!target.ok || !('name' in target.value.route)) return;
    let repo = target.value.route.name;
    const split = target.value.query.ns === undefined ? splitFirstComponent(repo) : undefined;
    if (split !== undefined && split.first === record.upstream) repo = split.rest;
    if (record.upstream === 'docker.io') repo = normalizeDockerHubName(repo);
    stats.served(record.upstream, repo, record.bytes);
  };
}
