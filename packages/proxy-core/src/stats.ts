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
  | 'storeErrors'
  | 'fillFailures'
  | 'prefetches'
  | 'mirrorFetches'
  | 'diskErrors';

/** Prefix of the per-repository served-bytes counters. */
export const SERVED_PREFIX = 'served:';

export interface Stats {
  add(name: StatName, upstream: string | undefined, value?: number): void;
  /** Body bytes served for `upstream/repo`. */
  served(upstream: string, repo: string, bytes: number): void;
  /** The cell that replays of answers for `upstream/repo` are counted in (one per pair). */
  cell(upstream: string, repo: string): HitCell;
  /** `hits` replayed hot answers (hot-responses.ts; default 1) of `bytes` body bytes in all. */
  replayed(cell: HitCell, bytes: number, hits?: number): void;
  /** In-memory totals since start: `hits`, and `hits@docker.io` per upstream. */
  snapshot(): Readonly<Record<string, number>>;
}

/**
 * Replayed hits of one upstream/repository as plain integers: a replay adds to it, and it is
 * folded into the counters (`hits`, `bytesFromCache`, served bytes) once per event-loop turn,
 * or at once when a snapshot is taken.
 */
export interface HitCell {
  readonly upstream: string;
  readonly repo: string;
  hits: number;
  bytes: number;
  queued: boolean;
}

/** Values (counter keys, cells) built once per pair of parts rather than per request. */
function createKeyMemo<V>(build: (a: string, b: string) => V): (a: string, b: string) => V {
  const keys = new Map<string, Map<string, V>>();
  return (a, b) => {
    let byA = keys.get(a);
    if (byA === undefined) keys.set(a, (byA = new Map()));
    let key = byA.get(b);
    if (key === undefined) byA.set(b, (key = build(a, b)));
    return key;
  };
}

export function createStats(store: BlobStore): Stats {
  const totals: Record<string, number> = {};
  const perUpstream = createKeyMemo((name, upstream) => `${name}@${upstream}`);
  const perRepo = createKeyMemo((upstream, repo) => `${SERVED_PREFIX}${upstream}/${repo}`);
  // Increments of one event-loop turn are handed to the store together (under load, many
  // requests finish per turn), and the store batches them again into one LevelDB write.
  const pending = new Map<string, number>();
  let queuedCells: HitCell[] = [];
  let scheduled = false;
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(handOver);
  };
  const count = (name: string, value: number): void => {
    pending.set(name, (pending.get(name) ?? 0) + value);
    schedule();
  };
  const bump = (name: string, value: number): void => {
    totals[name] = (totals[name] ?? 0) + value;
    count(name, value);
  };
  const add = (name: StatName, upstream: string | undefined, value = 1): void => {
    if (value === 0) return;
    bump(name, value);
    if (upstream !== undefined) bump(perUpstream(name, upstream), value);
  };
  const served = (upstream: string, repo: string, bytes: number): void => {
    if (bytes > 0) count(perRepo(upstream, repo), bytes);
  };
  const foldCells = (): void => {
    const cells = queuedCells;
    queuedCells = [];
    for (const cell of cells) {
      add('hits', cell.upstream, cell.hits);
      add('bytesFromCache', cell.upstream, cell.bytes);
      served(cell.upstream, cell.repo, cell.bytes);
      cell.hits = 0;
      cell.bytes = 0;
      cell.queued = false;
    }
  };
  function handOver(): void {
    foldCells();
    scheduled = false;
    store.addCounters(Object.fromEntries(pending));
    pending.clear();
  }
  const cell = createKeyMemo((upstream, repo): HitCell => ({ upstream, repo, hits: 0, bytes: 0, queued: false }));
  return {
    add,
    served,
    cell,
    replayed(hit, bytes, hits = 1) {
      hit.hits += hits;
      hit.bytes += bytes;
      if (hit.queued) return;
      hit.queued = true;
      queuedCells.push(hit);
      schedule();
    },
    snapshot() {
      foldCells();
      return { ...totals };
    },
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
