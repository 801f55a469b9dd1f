/**
 * `createRegistryCache(config)`: opens the store and returns a plain object with the
 * registry handler (a Node `(req, res)` function for node:http, Express, Fastify or Koa),
 * the admin handler, and `close()`. All state — the in-flight fills, token caches, counters —
 * belongs to this instance.
 */
import { createBlobStore, type BlobStore } from '@regcache/blob-store';
import { defaultUpstream, type RegcacheConfig, type UpstreamConfig } from './config.js';
import { parseAccept } from '@regcache/registry-protocol';
import type { CacheParts, Upstream } from './context.js';
import { UpstreamUnavailableError } from './errors.js';
import { createMemo } from './memo.js';
import { createManifestHeads } from './headers.js';
import { createHotAnswerFeed, type HotAnswerFeed } from './hot-feed.js';
import { createHotResponses } from './hot-responses.js';
import { createFillEngine } from './fill/engine.js';
import { createHandler, type RegistryHandler } from './handler.js';
import { createClientAuth } from './client-auth.js';
import { createFreshness } from './freshness.js';
import { silentLogger, type Logger } from './logger.js';
import { createManifestFetcher } from './manifest-fetch.js';
import { openUpstream } from './blobs.js';
import { createPrefetcher } from './prefetch.js';
import type { AdminHandler } from './admin.js';
import { guardStore } from './guarded-store.js';
import { createMaintenance, type Maintenance } from './maintenance.js';
import type { CacheMetrics } from './metrics.js';
import type { AdminOperations } from './operations.js';
import { createRouter } from './routing.js';
import { createStats, type Stats } from './stats.js';
import { createUpstreamClient, type UpstreamState } from './upstream/client.js';
import { createMirror, mirrorClientConfig } from './upstream/mirrors.js';

export interface RegistryCacheOptions {
  logger?: Logger;
  /** Repair the store at open (default true; `regcache-admin` opens without, so a dry run changes nothing). */
  recover?: boolean;
  /** Evict automatically over `storage.highWatermark` of `storage.maxSize` (default true). */
  autoEvict?: boolean;
  /**
   * Called after every 4 MiB that fills write fast (fill/engine.ts, RECLAIM_BYTES): the embedder may
   * free the upstream's read buffers there, e.g. with a young-generation GC, which keeps the peak
   * memory of large fills down. apps/server passes one when Node runs with --expose-gc.
   */
  reclaimMemory?: () => void;
}

export interface RegistryCache {
  /** The registry API: mount it at the root, or under any route that forwards `/v2/...` paths. */
  readonly handler: RegistryHandler;
  /** The admin API (health, metrics, stats, gc, verify, ls, warm) — for a loopback or unix-socket listener only. */
  readonly adminHandler: AdminHandler;
  /** The admin operations themselves, as the admin API runs them. */
  readonly operations: AdminOperations;
  /** This instance's Prometheus registry (also served at the admin API's `/metrics`). */
  readonly metrics: CacheMetrics;
  readonly store: BlobStore;
  readonly stats: Stats;
  /** The hot manifest answers, for replicas in other threads (apps/server's front threads). */
  readonly hotAnswers: HotAnswerFeed;
  /** What an upstream's client has learned: Docker Hub's `ratelimit-remaining`, a 429's Retry-After deadline. */
  upstreamState(name: string): Readonly<UpstreamState> | undefined;
  /** Stops fills, closes upstream connections, flushes and closes the store. Idempotent. */
  close(): Promise<void>;
}

/** A verified manifest the disk could not take was answered without being stored: say so once. */
function manifestDiskError(stats: Stats, logger: Logger): (digest: string, error: unknown) => void {
  return (digest, error) => {
    stats.add('diskErrors', undefined);
    logger.error({ digest, err: String(error) }, 'disk write failed: answering the manifest without storing it');
  };
}

/** An upstream's client and its mirrors' (upstream/mirrors.ts), each watched for errors in the metrics. */
function createUpstream(config: UpstreamConfig, maintenance: Maintenance, stats: Stats): Upstream {
  const mirrors = config.mirrors.map((m) => {
    const own = mirrorClientConfig(config, m);
    const client = maintenance.watchUpstream(createUpstreamClient(own));
    return createMirror(own, client, (result) => {
      maintenance.metrics.mirrorFetch(config.name, client.name, result);
      if (result === 'ok') stats.add('mirrorFetches', undefined);
    });
  });
  return { config, client: maintenance.watchUpstream(createUpstreamClient(config)), mirrors };
}

export async function createRegistryCache(config: RegcacheConfig, options: RegistryCacheOptions = {}): Promise<RegistryCache> {
  const logger = options.logger ?? silentLogger;
  // Before the store opens: a bad htpasswd file stops start-up with nothing to clean up.
  const clientAuth = await createClientAuth(config.auth, logger);
  const store = guardStore(await createBlobStore({ root: config.storage.path, logger, recover: options.recover }));
  const stats = createStats(store);
  const maintenance = createMaintenance({ config, store, logger, autoEvict: options.autoEvict !== false });
  const upstreams = new Map<string, Upstream>(config.upstreams.map((u) => [u.name, createUpstream(u, maintenance, stats)] as const));
  const fills = createFillEngine({
    store,
    logger,
    continueWhenClientsGone: config.fill.continueWhenClientsGone,
    detachedMaxSize: config.fill.detachedMaxSize,
    idleTimeoutMs: config.fill.idleTimeout,
    reclaim: options.reclaimMemory,
    onSettled: (_fill, outcome) => {
      maintenance.fillSettled(outcome);
      if (outcome.ok || outcome.stopped) return;
      stats.add('fillFailures', undefined);
      // A body that stalled or was lost mid-blob (fill/stall.ts): the sender's timeout or unreachable, counted once —
      // in stats for the configured upstream, in the metric under the host that sent it (a mirror's own name for a mirror's).
      if (outcome.error instanceof UpstreamUnavailableError) {
        stats.add('upstreamErrors', outcome.upstream);
        maintenance.metrics.upstreamError(outcome.error.upstream, outcome.error);
      }
    },
    onDiskError: (fill, error) => {
      stats.add('diskErrors', undefined);
      logger.error({ digest: fill.digest, err: String(error) }, 'disk write failed: passing the fill through without storing it');
    },
  });
  const prefetch = createPrefetcher({
    fills,
    // peek, not stat: a stat pins the digest for a read that a prefetch never makes.
    cached: async (digest) => (await store.peek(digest)) !== undefined,
    open: (upstream, repo, digest, signal) => openUpstream({ store, stats, metrics: maintenance.metrics }, upstream, repo, digest, signal),
    concurrency: config.fill.continueWhenClientsGone ? config.fill.prefetch : 0,
    maxSize: config.fill.detachedMaxSize,
    logger,
    // Clients that join a prefetch count as coalesced: the upstream bytes are counted here.
    onFilled: (upstream, bytes) => {
      stats.add('prefetches', upstream.config.name);
      stats.add('bytesFromUpstream', upstream.config.name, bytes);
      maintenance.metrics.prefetched(upstream.config.name, bytes);
    },
  });
  const hot = createHotResponses({ byHost: config.upstreams.some((u) => u.hosts.length > 0) });
  store.onRemove((digest) => hot.forgetDigest(digest));
  store.onTagChange((upstream, repo, tag) => hot.forgetTag(upstream, repo, tag));
  let closing: Promise<void> | undefined;
  const parts: CacheParts = {
    config,
    store,
    fills,
    manifests: createManifestFetcher(store, {
      onDiskError: manifestDiskError(stats, logger),
      onStored: (upstream, repo, manifest) => prefetch.schedule(upstream, repo, manifest.blobs),
      onContentError: (error) => maintenance.metrics.upstreamError(error.upstream, error),
    }),
    freshness: createFreshness(),
    upstreams,
    logger,
    stats,
    observers: [],
    metrics: maintenance.metrics,
    parseAccept: createMemo((header: string) => parseAccept(header)),
    hot,
    manifestHead: createManifestHeads(),
    closed: () => closing !== undefined,
  };
  const fallback = upstreams.get(defaultUpstream(config).name) as Upstream;
  const router = createRouter(upstreams, fallback);
  const handler = createHandler(parts, router, clientAuth);
  // warm pulls through a handler of its own, behind a token made for it (see warm-client.ts).
  const admin = maintenance.attach(parts, (auth) => createHandler(parts, router, auth));

  return {
    handler,
    adminHandler: admin.adminHandler,
    operations: admin.operations,
    metrics: maintenance.metrics,
    store,
    stats,
    hotAnswers: createHotAnswerFeed(parts),
    upstreamState: (name) => upstreams.get(name)?.client.state,
    close() {
      closing ??= (async () => {
        await maintenance.close();
        prefetch.close();
        await fills.close();
        await Promise.all([...upstreams.values()].flatMap((u) => [u.client, ...u.mirrors.map((m) => m.client)]).map((c) => c.close()));
        await store.close();
      })();
      return closing;
    },
  };
}
