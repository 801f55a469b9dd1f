/**
 * Prometheus metrics of one cache instance, in a prom-client Registry of its own (never the
 * global default registry: two caches in one process keep separate counts). Served as text at
 * `/metrics` on the admin listener.
 *
 *   regcache_requests_total{route,cache,status}        every answered request (these three:
 *   regcache_request_duration_seconds{route}           its duration, replays 0s plain integers, read
 *   regcache_served_bytes_total{source}                body bytes, by source   at scrape; request-metrics.ts)
 *   regcache_fill_duration_seconds{result}             upstream fills: ok, failed or stopped (on purpose)
 *   regcache_fills_in_flight                           fills running now
 *   regcache_prefetched_blobs_total{upstream} / regcache_prefetched_bytes_total{upstream}
 *                                                      blobs stored ahead of their clients (prefetch.ts)
 *   regcache_store_size_bytes / _max_size_bytes        the store against its budget
 *   regcache_evictions_total{reason} / regcache_evicted_bytes_total{reason}   gc, automatic eviction, rm --purge
 *   regcache_upstream_errors_total{upstream,status}    upstream failures, the kinds `stats` counts as upstream
 *                                                      errors: a 5xx or 429 status, our credentials refused
 *                                                      (401), unreachable / timeout / redirects, content (a
 *                                                      manifest that fails verification, a blob whose bytes
 *                                                      do not match its digest or size: once per fill, under
 *                                                      the host that sent it), a body cut or stalled after its
 *                                                      head (a manifest's, a tag list's: as the answer it
 *                                                      failed) — never a refusal (404, 401/403 to a
 *                                                      repository): that is an answer. Each failure once,
 *                                                      however many places see it (upstreamError)
 *   regcache_upstream_ratelimit_remaining{upstream}    Docker Hub's ratelimit-remaining, when sent
 *   regcache_upstream_blob_connections_total{upstream,connection}   blob requests to an http://
 *                                                      upstream on a new or a reused (kept-alive) connection
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestObserver } from './context.js';
import { UpstreamContentError, UpstreamRateLimitedError, UpstreamUnavailableError } from './errors.js';
import type { FillOutcome } from './fill/types.js';
import { createRequestMetrics } from './request-metrics.js';

export interface MetricsSources {
  inFlightFills(): number;
  storeSize(): Promise<number>;
  maxSize: number | undefined;
  rateLimits(): Array<[upstream: string, remaining: number | undefined]>;
  /** Per upstream, its blob requests on new and on reused connections so far. */
  connections(): Array<[upstream: string, counts: { new: number; reused: number }]>;
}

export interface CacheMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  readonly observe: RequestObserver;
  /** `count` replayed hot manifest answers (hot-responses.ts; default 1): manifest hits, 200, of `bytes` body bytes in all. */
  replayed(bytes: number, count?: number): void;
  fillSettled(outcome: FillOutcome): void;
  /** A prefetch stored a blob of `bytes` from `upstream`. */
  prefetched(upstream: string, bytes: number): void;
  evicted(reason: string, bytes: number): void;
  /**
   * Counts an upstream failure (upstreamStatus); anything else, a refusal included, is ignored.
   * Once per error: the upstream client, the fill, the manifest fetch and the handler answering
   * with it may each report the same error (one failure, however many clients waited for it).
   */
  upstreamError(upstream: string, error: unknown): void;
  /** A mirror of `upstream` was asked for something by digest (upstream/mirrors.ts), with this result. */
  mirrorFetch(upstream: string, mirror: string, result: string): void;
  render(): Promise<string>;
}

const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The status label of an upstream failure, or undefined for what is not one. A refusal
 * (UpstreamRefusedError: 404, or 401/403 for a repository, another 4xx) is the upstream's answer
 * about what a client asked for — a typo is a 404 — and passes to the client as such: `stats`
 * does not count it as an upstream error, and neither does this, so an alert on it is about the
 * upstream.
 */
function upstreamStatus(error: unknown): string | undefined {
  // One held back inside a 429's Retry-After was never asked: the 429 it follows was counted.
  if (error instanceof UpstreamRateLimitedError) return error.held ? undefined : '429';
  if (error instanceof UpstreamUnavailableError) return error.status === undefined ? error.reason : String(error.status);
  if (error instanceof UpstreamContentError) return 'content';
  return undefined;
}

/** The host an upstream failure is from (a mirror's own name for a mirror's), or undefined for another error. */
export function failedUpstream(error: unknown): string | undefined {
  const failure = error instanceof UpstreamRateLimitedError || error instanceof UpstreamUnavailableError || error instanceof UpstreamContentError;
  return failure ? error.upstream : undefined;
}

function gauges(registers: Registry[], sources: MetricsSources): void {
  new Gauge({
    name: 'regcache_fills_in_flight',
    help: 'Upstream fills running now',
    registers,
    collect() {
      this.set(sources.inFlightFills());
    },
  });
  new Gauge({
    name: 'regcache_store_size_bytes',
    help: 'Bytes of blobs in the store',
    registers,
    async collect() {
      this.set(await sources.storeSize());
    },
  });
  if (sources.maxSize !== undefined) {
    new Gauge({ name: 'regcache_store_max_size_bytes', help: 'The store size budget (storage.maxSize)', registers }).set(sources.maxSize);
  }
  new Gauge({
    name: 'regcache_upstream_ratelimit_remaining',
    help: "Pulls left in the upstream's rate-limit window, as it last said",
    labelNames: ['upstream'],
    registers,
    collect() {
      for (const [upstream, remaining] of sources.rateLimits()) if (remaining !== undefined) this.set({ upstream }, remaining);
    },
  });
  new Counter({
    name: 'regcache_upstream_blob_connections_total',
    help: 'Blob requests to an http:// upstream, by whether they went on a new connection or a kept-alive one',
    labelNames: ['upstream', 'connection'],
    registers,
    collect() {
      // The client keeps the counts; a scrape copies them.
      this.reset();
      for (const [upstream, counts] of sources.connections()) {
        this.inc({ upstream, connection: 'new' }, counts.new);
        this.inc({ upstream, connection: 'reused' }, counts.reused);
      }
    },
  });
}

export function createCacheMetrics(sources: MetricsSources): CacheMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = createRequestMetrics(registers, DURATION_BUCKETS);
  const replays = requests.cell('manifest', 'hit', 200);
  const fills = new Histogram({ name: 'regcache_fill_duration_seconds', help: 'Duration of upstream fills', labelNames: ['result'], buckets: DURATION_BUCKETS, registers });
  const evictions = new Counter({ name: 'regcache_evictions_total', help: 'Blobs removed by gc, automatic eviction and rm --purge', labelNames: ['reason'], registers });
  const evictedBytes = new Counter({ name: 'regcache_evicted_bytes_total', help: 'Bytes removed by gc, automatic eviction and rm --purge', labelNames: ['reason'], registers });
  const prefetches = new Counter({ name: 'regcache_prefetched_blobs_total', help: 'Blobs stored ahead of their clients', labelNames: ['upstream'], registers });
  const prefetchedBytes = new Counter({ name: 'regcache_prefetched_bytes_total', help: 'Bytes of the blobs stored ahead of their clients', labelNames: ['upstream'], registers });
  const mirrorFetches = new Counter({ name: 'regcache_mirror_fetches_total', help: 'Requests by digest to upstreams\' mirrors, by result (ok, missing, unavailable, mismatch)', labelNames: ['upstream', 'mirror', 'result'], registers });
  const upstreamErrors = new Counter({ name: 'regcache_upstream_errors_total', help: 'Upstream failures: 5xx, 429, unreachable, timeout, redirects, credentials, bad content (not 404s or other refusals)', labelNames: ['upstream', 'status'], registers });
  gauges(registers, sources);
  const counted = new WeakSet<object>();
  return {
    registry,
    contentType: registry.contentType,
    observe(record) {
      requests.observe(requests.cell(record.route, record.cache, record.status), record.durationMs / 1000, record.bytes);
    },
    replayed: (bytes, count = 1) => requests.replayed(replays, bytes, count),
    fillSettled(outcome) {
      fills.observe({ result: outcome.ok ? 'ok' : outcome.stopped ? 'stopped' : 'failed' }, outcome.durationMs / 1000);
    },
    prefetched(upstream, bytes) {
      prefetches.inc({ upstream });
      prefetchedBytes.inc({ upstream }, bytes);
    },
    evicted(reason, bytes) {
      evictions.inc({ reason });
      evictedBytes.inc({ reason }, bytes);
    },
    upstreamError(upstream, error) {
      const status = upstreamStatus(error);
      if (status === undefined || !(error instanceof Error) || counted.has(error)) return;
      counted.add(error);
      upstreamErrors.inc({ upstream, status });
    },
    mirrorFetch: (upstream, mirror, result) => mirrorFetches.inc({ upstream, mirror, result }),
    render: () => registry.metrics(),
  };
}
