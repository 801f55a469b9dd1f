/**
 * The per-request metrics, by label set ("cell": route × cache result × status, a few dozen at
 * most, each built once):
 *
 *   regcache_requests_total{route,cache,status}   every answered request
 *   regcache_request_duration_seconds{route}      its duration — every request requests_total
 *                                                 counts, replays included (below)
 *   regcache_served_bytes_total{source}           body bytes, from the cache or the upstream
 *
 * A replayed hot manifest answer (hot-responses.ts, and apps/server's front threads and native
 * replay loops, whose counts arrive in batches: hot-feed.ts) is the most frequent request a
 * cache sees and costs a few microseconds; a prom-client `inc` with labels would be a good share
 * of that. So a replay adds to two integers on its cell, and prom-client is handed the sums when
 * the metrics are scraped (`collect`), to requests_total and to the duration histogram at once
 * (duration-histogram.ts: the whole count is one addition). There a replay is an approximation, not a measurement: it is observed as taking
 * REPLAY_SECONDS (0). A replay is answered synchronously from memory as soon as its head is
 * read — microseconds (its log line's durationMs reads 0.0–0.1), far below the first bucket
 * (5 ms) — so its bucket is right, and `_sum` leaves out those microseconds rather than pay for
 * a clock read per replay on the hot path.
 */
import { Counter, type Registry } from 'prom-client';
import type { CacheResult } from './context.js';
import { DurationHistogram, type DurationSeries } from './duration-histogram.js';

export interface RequestCell {
  readonly route: string;
  readonly cache: string;
  readonly status: number;
  /** Replays counted here and not yet handed to prom-client. */
  replays: number;
  replayBytes: number;
  /** The cell's prom-client children: prom-client hashes a label object on every call, so each is looked up once. */
  readonly request: Counter.Internal;
  readonly duration: DurationSeries;
  /** Undefined for a result whose bytes come from neither the cache nor the upstream. */
  readonly served: Counter.Internal | undefined;
}

export interface RequestMetrics {
  /** The cell of a label set (the same object every time). */
  cell(route: string, cache: string, status: number): RequestCell;
  /** A request answered by the normal path: counted, timed, its body bytes by source. */
  observe(cell: RequestCell, seconds: number, bytes: number): void;
  /** `count` replayed answers of `bytes` body bytes in all: two integer additions (timed as REPLAY_SECONDS each at the scrape). */
  replayed(cell: RequestCell, bytes: number, count: number): void;
}

const FROM_CACHE: ReadonlySet<string> = new Set<CacheResult>(['hit', 'coalesced', 'stale']);
const FROM_UPSTREAM: ReadonlySet<string> = new Set<CacheResult>(['miss', 'pass']);

/** The duration a replay is observed with: an approximation (see above), not a measurement. */
export const REPLAY_SECONDS = 0;

const sourceOf = (cache: string): string | undefined => (FROM_CACHE.has(cache) ? 'cache' : FROM_UPSTREAM.has(cache) ? 'upstream' : undefined);

export function createRequestMetrics(registers: Registry[], buckets: number[]): RequestMetrics {
  const cells = new Map<string, RequestCell>();
  const requests = new Counter({
    name: 'regcache_requests_total',
    help: 'Requests answered, by route, cache result and status',
    labelNames: ['route', 'cache', 'status'],
    registers,
    collect() {
      // Replays drain into both series here, at the scrape (the histogram is rendered after this
      // counter), so a replay itself costs only the two additions in `replayed`.
      for (const c of cells.values()) {
        if (c.replays === 0) continue;
        c.request.inc(c.replays);
        c.duration.observe(REPLAY_SECONDS, c.replays);
        c.replays = 0;
      }
    },
  });
  const durations = new DurationHistogram({ name: 'regcache_request_duration_seconds', help: 'Time to answer a request (replayed hot answers count as 0: they take microseconds)', buckets, registers });
  const served = new Counter({
    name: 'regcache_served_bytes_total',
    help: 'Body bytes served, by where they came from',
    labelNames: ['source'],
    registers,
    collect() {
      for (const c of cells.values()) {
        if (c.replayBytes === 0 || c.served === undefined) continue;
        c.served.inc(c.replayBytes);
        c.replayBytes = 0;
      }
    },
  });
  return {
    cell(route, cache, status) {
      const key = `${route}\u0000${cache}\u0000${status}`;
      let c = cells.get(key);
      if (c === undefined) {
        const source = sourceOf(cache);
        c = {
          route,
          cache,
          status,
          replays: 0,
          replayBytes: 0,
          request: requests.labels({ route, cache, status: String(status) }),
          duration: durations.route(route),
          served: source === undefined ? undefined : served.labels({ source }),
        };
        cells.set(key, c);
      }
      return c;
    },
    observe(c, seconds, bytes) {
      c.request.inc();
      c.duration.observe(seconds);
      if (bytes > 0) c.served?.inc(bytes);
    },
    replayed(c, bytes, count) {
      c.replays += count;
      c.replayBytes += bytes;
    },
  };
}
