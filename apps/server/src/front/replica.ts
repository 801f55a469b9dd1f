/**
 * A front thread's copy of the hot answer table that its raw front (raw-front.ts) replays
 * from, and what it replayed, to be credited to the cache in the main thread in batches
 * (hot-feed.ts: store access times, hit and byte counters, metrics, request log).
 *
 * Copies are only ever valid while the hot table's generation (shared memory) reads what it
 * read when the answer was kept: the main thread bumps it before anything leaves its table,
 * and the copy empties itself the next time it looks.
 */
import { createHotResponses, loggedPath, type HitCell, type HotAnswer, type HotKey, type ReplayCredit, type ReplayRecord } from '@regcache/proxy-core/front';
import type { RawRequest } from './raw-head.js';

export interface Replica {
  /** Keeps `answer` (its body is shared, not copied), unless the table moved on since `generation`. */
  keep(key: HotKey, answer: Omit<HotAnswer, 'counts'>, generation: number): void;
  lookup(req: RawRequest): HotAnswer | undefined;
  /** Counts one replay of `bytes` body bytes (and records it for the log when asked to). */
  replayed(answer: HotAnswer, req: RawRequest, bytes: number, startedAt: number): void;
  /** What was replayed since the last call, or undefined if nothing was. */
  takeCredits(): { credits: ReplayCredit[]; records: ReplayRecord[] } | undefined;
}

export function createReplica(opts: { byHost: boolean; generation: Int32Array; logsRequests: boolean }): Replica {
  let table = createHotResponses({ byHost: opts.byHost });
  let tableGeneration = Atomics.load(opts.generation, 0);
  /** Answers replayed since the last credit (each counts its replays in its own cell). */
  let queued: HotAnswer[] = [];
  let records: ReplayRecord[] = [];

  /** The table, emptied first if the main thread's table lost anything since it was filled. */
  const current = (): typeof table => {
    const now = Atomics.load(opts.generation, 0);
    if (now !== tableGeneration) {
      table = createHotResponses({ byHost: opts.byHost });
      tableGeneration = now;
    }
    return table;
  };

  return {
    keep(key, answer, generation) {
      const t = current();
      if (generation !== tableGeneration) return; // kept before a forget this copy has seen
      const counts: HitCell = { upstream: answer.upstream, repo: answer.repo, hits: 0, bytes: 0, queued: false };
      t.keep(key, { ...answer, counts });
    },
    lookup: (req) => current().lookup(req),
    replayed(answer, req, bytes, startedAt) {
      const cell = answer.counts;
      cell.hits += 1;
      cell.bytes += bytes;
      if (!cell.queued) {
        cell.queued = true;
        queued.push(answer);
      }
      if (opts.logsRequests) {
        const durationMs = Math.round((Date.now() - startedAt) * 10) / 10;
        records.push({ method: req.method, path: loggedPath(req.url), bytes, durationMs, upstream: answer.upstream, repo: answer.repo });
      }
    },
    takeCredits() {
      if (queued.length === 0 && records.length === 0) return undefined;
      const credits: ReplayCredit[] = queued.map(({ digest, counts: c }) => ({ digest, upstream: c.upstream, repo: c.repo, hits: c.hits, bytes: c.bytes }));
      for (const { counts } of queued) Object.assign(counts, { hits: 0, bytes: 0, queued: false });
      const taken = { credits, records };
      queued = [];
      records = [];
      return taken;
    },
  };
}
