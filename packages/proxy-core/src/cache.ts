/**
 * `createRegistryCache(config)`: opens the store and returns a plain object with the
 * registry handler (a Node `(req, res)` function for node:http, Express, Fastify or Koa),
 * the admin handler, and `close()`. All state — the in-flight fills, token caches, counters —
 * belongs to this instance.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBlobStore, DigestMismatchError, SizeMismatchError, type BlobStore } from '@regcache/blob-store';
import { defaultUpstream, type RegcacheConfig } from './config.js';
import type { CacheParts, Upstream } from './context.js';
import { createFillEngine } from './fill/engine.js';
import { createHandler, type RegistryHandler } from './handler.js';
import { silentLogger, type Logger } from './logger.js';
import { createManifestFetcher } from './manifest-fetch.js';
import { createAdminHandler } from './admin.js';
import { createRouter } from './routing.js';
import { createStats, type Stats } from './stats.js';
import { createUpstreamClient } from './upstream/client.js';

export interface RegistryCacheOptions {
  logger?: Logger;
}

export interface RegistryCache {
  /** The registry API: mount it at the root, or under any route that forwards `/v2/...` paths. */
  readonly handler: RegistryHandler;
  /** `/healthz`, `/readyz`, `/stats` — for a loopback or unix-socket listener only. */
  readonly adminHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  readonly store: BlobStore;
  readonly stats: Stats;
  /** Stops fills, closes upstream connections, flushes and closes the store. Idempotent. */
  close(): Promise<void>;
}

export async function createRegistryCache(config: RegcacheConfig, options: RegistryCacheOptions = {}): Promise<RegistryCache> {
  const logger = options.logger ?? silentLogger;
  const store = await createBlobStore({ root: config.storage.path, logger });
  const stats = createStats(store);
  const upstreams = new Map<string, Upstream>(
    config.upstreams.map((u) => [u.name, { config: u, client: createUpstreamClient(u) }] as const),
  );
  const fills = createFillEngine({
    store,
    logger,
    continueWhenClientsGone: config.fill.continueWhenClientsGone,
    detachedMaxSize: config.fill.detachedMaxSize,
    idleTimeoutMs: config.fill.idleTimeout,
    onSettled: (_fill, outcome) => {
      if (outcome.ok) return;
      stats.add('fillFailures', undefined);
      if (outcome.error instanceof DigestMismatchError || outcome.error instanceof SizeMismatchError) stats.add('upstreamErrors', undefined);
    },
    onDiskError: (fill, error) => {
      stats.add('diskErrors', undefined);
      logger.error({ digest: fill.digest, err: String(error) }, 'disk write failed: passing the fill through without storing it');
    },
  });
  const parts: CacheParts = { config, store, fills, manifests: createManifestFetcher(store), upstreams, logger, stats, observers: [] };
  const fallback = upstreams.get(defaultUpstream(config).name) as Upstream;
  const handler = createHandler(parts, createRouter(upstreams, fallback));
  let closing: Promise<void> | undefined;

  return {
    handler,
    adminHandler: createAdminHandler(parts),
    store,
    stats,
    close() {
      closing ??= (async () => {
        await fills.close();
        await Promise.all([...upstreams.values()].map((u) => u.client.close()));
        await store.close();
      })();
      return closing;
    },
  };
}
