/**
 * Wiring the operator's side of one cache instance: metrics (request observers, fills,
 * upstream errors, store size), the admin operations and their API, and automatic eviction.
 * Created before the upstream clients and the fill engine (they report to its metrics), then
 * attached to the instance's parts once those exist.
 */
import type { Digest } from '@regcache/registry-protocol';
import { createAdminHandler, type AdminHandler } from './admin.js';
import type { ClientAuth } from './client-auth.js';
import type { RegcacheConfig } from './config.js';
import type { CacheParts } from './context.js';
import { createAutoEviction, createSizeTracker, measureStore, type AutoEviction, type SizeTracker } from './eviction.js';
import type { FillOutcome } from './fill/types.js';
import type { GuardedStore } from './guarded-store.js';
import type { RegistryHandler } from './handler.js';
import type { Logger } from './logger.js';
import { createCacheMetrics, type CacheMetrics } from './metrics.js';
import { createOperations, type InstanceOperations } from './operations.js';
import { servedBytesObserver } from './stats.js';
import type { UpstreamClient, UpstreamState } from './upstream/client.js';
import { checkUpstreams, type UpstreamCheck } from './upstream-check.js';
import { openLoopback } from './warm-client.js';

export interface MaintenanceOptions {
  config: RegcacheConfig;
  store: GuardedStore;
  logger: Logger;
  /** Evict automatically over the high watermark of `storage.maxSize` (default true). */
  autoEvict: boolean;
  /** Debounce of the watermark check after commits (default 1 s). */
  evictionDebounceMs?: number;
}

export interface Maintenance {
  readonly metrics: CacheMetrics;
  /** The client, with its errors counted by upstream and status. */
  watchUpstream(client: UpstreamClient): UpstreamClient;
  fillSettled(outcome: FillOutcome): void;
  attach(parts: CacheParts, makeHandler: (auth: ClientAuth) => RegistryHandler): { operations: InstanceOperations; adminHandler: AdminHandler };
  close(): Promise<void>;
}

/** The client, with its errors counted by upstream and status (an aborted request is no error). */
function watchUpstream(client: UpstreamClient, metrics: CacheMetrics): UpstreamClient {
  const requestOk: UpstreamClient['requestOk'] = async (req) => {
    try {
      return await client.requestOk(req);
    } catch (error) {
      if (!req.signal?.aborted) metrics.upstreamError(client.name, error);
      throw error;
    }
  };
  return { ...client, requestOk };
}

function startEviction(opts: MaintenanceOptions, size: SizeTracker, ops: InstanceOperations): AutoEviction | undefined {
  const { maxSize, highWatermark, lowWatermark } = opts.config.storage;
  if (maxSize === undefined || !opts.autoEvict) return undefined;
  const evict = async (target: number) => {
    const result = await ops.evictTo(target);
    return { sizeAfter: result.sizeAfter, freedBytes: result.freedBytes, removed: result.removed.length };
  };
  const debounceMs = opts.evictionDebounceMs ?? 1000;
  const auto = createAutoEviction({ size, maxSize, highWatermark, lowWatermark, debounceMs, evict, logger: opts.logger });
  auto.start();
  return auto;
}

export function createMaintenance(opts: MaintenanceOptions): Maintenance {
  const { config, store, logger } = opts;
  let parts: CacheParts | undefined;
  let operations: InstanceOperations | undefined;
  let eviction: AutoEviction | undefined;
  const size = createSizeTracker(() => measureStore(store));
  const stateOf = (name: string): Readonly<UpstreamState> | undefined => parts?.upstreams.get(name)?.client.state;
  const rateLimitRemaining = (name: string): number | undefined => stateOf(name)?.rateLimitRemaining;
  const metrics = createCacheMetrics({
    inFlightFills: () => parts?.fills.inFlight() ?? 0,
    storeSize: async () => size.current() ?? (await size.refresh()),
    maxSize: config.storage.maxSize,
    rateLimits: () => config.upstreams.map((u) => [u.name, rateLimitRemaining(u.name)] as [string, number | undefined]),
    connections: () => config.upstreams.map((u) => [u.name, stateOf(u.name)?.connections ?? { new: 0, reused: 0 }] as [string, { new: number; reused: number }]),
  });
  return {
    metrics,
    watchUpstream: (client) => watchUpstream(client, metrics),
    fillSettled: (outcome) => metrics.fillSettled(outcome),
    attach(attached, makeHandler) {
      parts = attached;
      attached.observers.push(metrics.observe, servedBytesObserver(attached.stats));
      const inFlight = (): readonly Digest[] => attached.fills.inFlightDigests();
      const checks = (): Promise<UpstreamCheck[]> => checkUpstreams([...attached.upstreams.values()]);
      const forgetNotFound = (upstream: string, repo: string): boolean => attached.manifests.forgetNotFound(upstream, repo);
      const ops = createOperations({ store, config, inFlight, size, metrics, rateLimitRemaining, openLoopback: () => openLoopback(makeHandler), checkUpstreams: checks, forgetNotFound });
      operations = ops;
      eviction = startEviction(opts, size, ops);
      store.onCommit((meta) => (eviction ? eviction.grew(meta.size) : size.grew(meta.size)));
      const adminHandler = createAdminHandler({ operations: ops, metrics, store, logger, inFlightFills: () => attached.fills.inFlight() });
      return { operations: ops, adminHandler };
    },
    async close() {
      await eviction?.close();
      await operations?.close();
    },
  };
}
