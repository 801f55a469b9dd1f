/**
 * Prometheus metrics of one cache instance, in a prom-client Registry of its own (never the
 * global default registry: two caches in one process keep separate counts). Served as text at
 * `/metrics` on the admin listener.
 *
 *   regcache_requests_total{route,cache,status}        every answered request (observers hook)
 *   regcache_request_duration_seconds{route}           its duration
 *   regcache_served_bytes_total{source}                body bytes from the cache or the upstream
 *   regcache_fill_duration_seconds{result}             upstream fills, ok or failed
 *   regcache_fills_in_flight                           fills running now
 *   regcache_store_size_bytes / _max_size_bytes        the store against its budget
 *   regcache_evictions_total{reason} / regcache_evicted_bytes_total{reason}   gc and automatic eviction
 *   regcache_upstream_errors_total{upstream,status}    upstream answers that were errors (status, or
 *                                                      unreachable / timeout / redirects)
 *   regcache_upstream_ratelimit_remaining{upstream}    Docker Hub's ratelimit-remaining, when sent
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CacheResult, RequestObserver } from './context.js';
import { UpstreamRateLimitedError, UpstreamRefusedError, UpstreamUnavailableError } from './errors.js';
import type { FillOutcome } from './fill/types.js';

export interface MetricsSources {
  inFlightFills(): number;
  storeSize(): Promise<number>;
  maxSize: number | undefined;
  rateLimits(): Array<[upstream: string, remaining: number | undefined]>;
}

export interface CacheMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  readonly observe: RequestObserver;
  fillSettled(outcome: FillOutcome): void;
  evicted(reason: string, bytes: number): void;
  /** Counts an error from an upstream request (anything else is ignored). */
  upstreamError(upstream: string, error: unknown): void;
  render(): Promise<string>;
}

const FROM_CACHE: ReadonlySet<CacheResult> = new Set(['hit', 'coalesced', 'stale']);
const FROM_UPSTREAM: ReadonlySet<CacheResult> = new Set(['miss', 'pass']);
const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

function upstreamStatus(error: unknown): string | undefined {
  if (error instanceof UpstreamRateLimitedError) return '429';
  if (error instanceof UpstreamRefusedError) return String(error.status);
  if (error instanceof UpstreamUnavailableError) return error.status === undefined ? error.reason : String(error.status);
  return undefined;
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
}

/**
 * Per-request metrics through cached label children: prom-client's `inc(labels)` hashes the
 * label object on every call, a measurable share of a cache hit. The label sets are few
 * (routes × cache results × statuses), so each child is looked up once and reused.
 */
function labelledChildren(requests: Counter<'route' | 'cache' | 'status'>, durations: Histogram<'route'>, served: Counter<'source'>) {
  const requestChildren = new Map<string, Map<string, Map<number, ReturnType<typeof requests.labels>>>>();
  const durationChildren = new Map<string, ReturnType<typeof durations.labels>>();
  const servedChildren = new Map<string, ReturnType<typeof served.labels>>();
  const within = <K, V>(map: Map<K, V>, key: K, make: () => V): V => {
    let value = map.get(key);
    if (value === undefined) map.set(key, (value = make()));
    return value;
  };
  return {
    request: (route: string, cache: string, status: number) =>
      within(within(within(requestChildren, route, () => new Map()), cache, () => new Map()), status, () =>
        requests.labels({ route, cache, status: String(status) }),
      ),
    duration: (route: string) => within(durationChildren, route, () => durations.labels({ route })),
    served: (source: string) => within(servedChildren, source, () => served.labels({ source })),
  };
}

export function createCacheMetrics(sources: MetricsSources): CacheMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({ name: 'regcache_requests_total', help: 'Requests answered, by route, cache result and status', labelNames: ['route', 'cache', 'status'], registers });
  const durations = new Histogram({ name: 'regcache_request_duration_seconds', help: 'Time to answer a request', labelNames: ['route'], buckets: DURATION_BUCKETS, registers });
  const served = new Counter({ name: 'regcache_served_bytes_total', help: 'Body bytes served, by where they came from', labelNames: ['source'], registers });
  const fills = new Histogram({ name: 'regcache_fill_duration_seconds', help: 'Duration of upstream fills', labelNames: ['result'], buckets: DURATION_BUCKETS, registers });
  const evictions = new Counter({ name: 'regcache_evictions_total', help: 'Blobs removed by gc and automatic eviction', labelNames: ['reason'], registers });
  const evictedBytes = new Counter({ name: 'regcache_evicted_bytes_total', help: 'Bytes removed by gc and automatic eviction', labelNames: ['reason'], registers });
  const upstreamErrors = new Counter({ name: 'regcache_upstream_errors_total', help: 'Upstream requests that ended in an error', labelNames: ['upstream', 'status'], registers });
  gauges(registers, sources);
  const children = labelledChildren(requests, durations, served);
  return {
    registry,
    contentType: registry.contentType,
    observe(record) {
      children.request(record.route, record.cache, record.status).inc();
      children.duration(record.route).observe(record.durationMs / 1000);
      const source = FROM_CACHE.has(record.cache) ? 'cache' : FROM_UPSTREAM.has(record.cache) ? 'upstream' : undefined;
      if (source !== undefined && record.bytes > 0) children.served(source).inc(record.bytes);
    },
    fillSettled(outcome) {
      fills.observe({ result: outcome.ok ? 'ok' : 'failed' }, outcome.durationMs / 1000);
    },
    evicted(reason, bytes) {
      evictions.inc({ reason });
      evictedBytes.inc({ reason }, bytes);
    },
    upstreamError(upstream, error) {
      const status = upstreamStatus(error);
      if (status !== undefined) upstreamErrors.inc({ upstream, status });
    },
    render: () => registry.metrics(),
  };
}
