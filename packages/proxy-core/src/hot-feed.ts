/**
 * The hot answer table, for apps/server's raw fronts. In the main thread a front looks answers
 * up here and counts each replay as the handler counts its own (`countReplay`). In other
 * threads a front replays from a replica fed by the table's `onRemember` and `generation`
 * (hot-responses.ts), and hands back what it replayed so it counts as here — the store's
 * access time, the hit and byte counters, the request metrics, and one log line per request
 * at info. A replica is only ever a copy: every answer it has was remembered here first.
 */
import { parseDigest } from '@regcache/registry-protocol';
import type { CacheParts, RequestRecord } from './context.js';
import type { HotAnswer, HotKey, HotRequest } from './hot-responses.js';

/** What a replica replayed of one answer since it last reported. */
export interface ReplayCredit {
  readonly digest: string;
  readonly upstream: string;
  readonly repo: string;
  readonly hits: number;
  readonly bytes: number;
}

/** One replayed request, for the request log (sent only while the log level is info or finer). */
export interface ReplayRecord {
  readonly method: string;
  readonly path: string;
  readonly bytes: number;
  readonly durationMs: number;
  readonly upstream: string;
  readonly repo: string;
}

export interface HotAnswerFeed {
  /** Bumped before any answer leaves the table: a replica's copy is valid while this reads the generation it came with. */
  readonly generation: Int32Array;
  /** Whether replicas should send a ReplayRecord per request. */
  readonly logsRequests: boolean;
  /** Called at once with every answer the table holds, then with every answer it keeps. */
  onRemember(listener: (key: HotKey, answer: HotAnswer) => void): void;
  /** The table's answer for `req`, for a front in this thread. */
  lookup(req: HotRequest): HotAnswer | undefined;
  /** Counts one replay of `answer` by a front in this thread (logged with `front: true, thread: 0`). */
  replayed(answer: HotAnswer, method: string, path: string, bytes: number, durationMs: number): void;
  /** Counts what a replica replayed as if answered here (its records logged with `front: true` and the replica's `thread`). */
  credit(credits: readonly ReplayCredit[], records: readonly ReplayRecord[], thread: number): void;
}

/** The request log line of a replay: by the handler, or by the raw front of thread `thread` (0: the main thread's). */
function logReplay(parts: CacheParts, r: ReplayRecord, thread: number | undefined): void {
  const entry: RequestRecord = { method: r.method, path: r.path, status: 200, durationMs: r.durationMs, route: 'manifest', bytes: r.bytes, cache: 'hit', upstream: r.upstream, repo: r.repo, aborted: false };
  parts.logger.info(thread === undefined ? entry : { ...entry, front: true, thread }, 'request');
}

/**
 * The bookkeeping of one replay in this thread, whoever wrote it (the handler, or a front):
 * the store's access time, the hit and byte counters, the metrics, and its log line if given.
 */
export function countReplay(parts: CacheParts, answer: HotAnswer, bytes: number, record: ReplayRecord | undefined, thread?: number): void {
  parts.store.touch(answer.digest);
  parts.stats.replayed(answer.counts, bytes);
  parts.metrics.replayed(bytes);
  if (record !== undefined) logReplay(parts, record, thread);
}

export function createHotAnswerFeed(parts: CacheParts): HotAnswerFeed {
  const logsRequests = parts.logger.isLevelEnabled?.('info') ?? true;
  return {
    generation: parts.hot.generation,
    logsRequests,
    onRemember: (listener) => parts.hot.onRemember(listener),
    lookup: (req) => parts.hot.lookup(req),
    replayed(answer, method, path, bytes, durationMs) {
      const record = logsRequests ? { method, path, bytes, durationMs, upstream: answer.upstream, repo: answer.repo } : undefined;
      countReplay(parts, answer, bytes, record, 0);
    },
    credit(credits, records, thread) {
      for (const credit of credits) {
        const digest = parseDigest(credit.digest);
        if (digest.ok) parts.store.touch(digest.value);
        parts.stats.replayed(parts.stats.cell(credit.upstream, credit.repo), credit.bytes, credit.hits);
        parts.metrics.replayed(credit.bytes, credit.hits);
      }
      if (!logsRequests) return;
      for (const r of records) logReplay(parts, r, thread);
    },
  };
}
