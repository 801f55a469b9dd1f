/**
 * The admin operations — stats, gc, verify, ls, warm, rm, expire, upstreams — as functions of one cache instance.
 * The admin API calls them when a server is running; `regcache-admin` calls the very same
 * ones on a cache it opens itself when none is. So the output is the same either way.
 *
 * gc, verify, rm, expire and automatic eviction change the store: they run one at a time.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { RegcacheConfig } from './config.js';
import { defaultUpstream } from './config.js';
import { checkImageList } from './admin-requests.js';
import { expireImages, type ExpireOptions, type ExpireResult } from './expire.js';
import type { GcItem } from './gc-plan.js';
import { runGc, type GcOptions, type GcProgress, type GcResult } from './gc.js';
import type { GuardedStore } from './guarded-store.js';
import type { NameScope } from './image-tags.js';
import { listInventory, type Inventory } from './inventory.js';
import type { CacheMetrics } from './metrics.js';
import { OperationInputError, OperationUnavailableError } from './operation-errors.js';
import { collectStats, type StatsReport } from './report.js';
import { removeImages, type RemoveOptions, type RemoveProgress, type RemoveResult } from './remove.js';
import type { SizeTracker } from './eviction.js';
import { verifyStore, type VerifyOptions, type VerifyProgress, type VerifyResult } from './verify.js';
import type { UpstreamCheck } from './upstream-check.js';
import type { LoopbackClient } from './warm-client.js';
import { warmImages, type WarmOptions, type WarmProgress, type WarmResult } from './warm.js';

export interface AdminOperations {
  stats(): Promise<StatsReport>;
  /** `maxSize` defaults to `storage.maxSize`. */
  gc(opts: GcOptions, onProgress?: (p: GcProgress) => void): Promise<GcResult>;
  verify(opts: VerifyOptions, onProgress?: (p: VerifyProgress) => void): Promise<VerifyResult>;
  /** Repositories, optionally only those matching `upstream/repository`. */
  inventory(filter?: string): Promise<Inventory>;
  warm(opts: WarmOptions, onProgress?: (p: WarmProgress) => void): Promise<WarmResult>;
  /** Forgets images' tags; with `purge`, deletes their content too (remove.ts). */
  remove(opts: RemoveOptions, onProgress?: (p: RemoveProgress) => void): Promise<RemoveResult>;
  /** Marks images' tags past their TTL: the next pull revalidates (expire.ts). */
  expire(opts: ExpireOptions): Promise<ExpireResult>;
  /** Each upstream asked `GET /v2/` the way fills ask it (upstream-check.ts). */
  upstreams(): Promise<UpstreamCheck[]>;
}

export interface OperationsDeps {
  store: GuardedStore;
  config: RegcacheConfig;
  inFlight(): readonly Digest[];
  size: SizeTracker;
  metrics?: CacheMetrics;
  rateLimitRemaining(upstream: string): number | undefined;
  /** A client to the cache's own registry handler (warm); absent where there is none. */
  openLoopback?(): Promise<LoopbackClient>;
  /** The upstreams' clients, checked; absent where there are none. */
  checkUpstreams?(): Promise<UpstreamCheck[]>;
  /** Forgets the remembered 404s of a repository (not-found.ts); absent where there are none. */
  forgetNotFound?(upstream: string, repo: string): boolean;
}

export interface InstanceOperations extends AdminOperations {
  /** gc down to `targetBytes` (automatic eviction). */
  evictTo(targetBytes: number): Promise<GcResult>;
  /** Waits for a running gc or verify. */
  close(): Promise<void>;
}

function checkGcOptions(opts: GcOptions): void {
  if (opts.maxSize !== undefined && !(Number.isSafeInteger(opts.maxSize) && opts.maxSize >= 0)) {
    throw new OperationInputError(`max size must be a number of bytes, not ${String(opts.maxSize)}`);
  }
  if (opts.maxAge !== undefined && !(Number.isFinite(opts.maxAge) && opts.maxAge > 0)) {
    throw new OperationInputError(`max age must be a positive duration, not ${String(opts.maxAge)}`);
  }
}

/** Runs changes to the store one at a time, in call order. */
function createExclusive(): { run<T>(work: () => Promise<T>): Promise<T>; idle(): Promise<unknown> } {
  let chain: Promise<unknown> = Promise.resolve();
  return {
    run(work) {
      const next = chain.then(work, work);
      chain = next.catch(() => undefined);
      return next;
    },
    idle: () => chain,
  };
}

async function warmWith(deps: OperationsDeps, opts: WarmOptions, onProgress?: (p: WarmProgress) => void): Promise<WarmResult> {
  if (deps.openLoopback === undefined) throw new OperationUnavailableError('warm needs the registry handler of a cache instance');
  const client = await deps.openLoopback();
  try {
    const upstreams = deps.config.upstreams.map((u) => u.name);
    return await warmImages({ client, store: deps.store, upstreams, defaultUpstream: defaultUpstream(deps.config).name }, opts, onProgress);
  } finally {
    await client.close();
  }
}

/** How rm and expire read image references: the configured upstreams, the default one. */
function nameScope(deps: OperationsDeps): NameScope {
  return { store: deps.store, upstreams: deps.config.upstreams.map((u) => u.name), defaultUpstream: defaultUpstream(deps.config).name };
}

async function removeWith(deps: OperationsDeps, opts: RemoveOptions, onProgress?: (p: RemoveProgress) => void): Promise<RemoveResult> {
  const onRemoved = (blob: { size: number }): void => deps.metrics?.evicted('purge', blob.size);
  const result = await removeImages({ ...nameScope(deps), inFlight: deps.inFlight, onRemoved }, opts, onProgress);
  const size = deps.size.current();
  if (size !== undefined && result.freedBytes > 0) deps.size.set(Math.max(0, size - result.freedBytes));
  return result;
}

export function createOperations(deps: OperationsDeps): InstanceOperations {
  const { store, config } = deps;
  const exclusive = createExclusive();
  /** An upstream's `tagTtl` (0 for one no longer configured: nothing of it is fresh). */
  const tagTtl = (name: string): number => config.upstreams.find((u) => u.name === name)?.tagTtl ?? 0;
  const gc = (opts: GcOptions, onProgress?: (p: GcProgress) => void): Promise<GcResult> =>
    exclusive.run(async () => {
      const gcDeps = { store, inFlight: deps.inFlight, onRemoved: (item: GcItem) => deps.metrics?.evicted(item.reason, item.size) };
      const result = await runGc(gcDeps, { ...opts, maxSize: opts.maxSize ?? config.storage.maxSize }, onProgress);
      if (!result.dryRun) deps.size.set(result.sizeAfter);
      return result;
    });
  return {
    stats: () =>
      collectStats(store, {
        maxSizeBytes: config.storage.maxSize,
        upstreams: config.upstreams.map((u) => u.name),
        rateLimitRemaining: deps.rateLimitRemaining,
      }),
    async gc(opts, onProgress) {
      checkGcOptions(opts);
      return gc(opts, onProgress);
    },
    verify: (opts, onProgress) => exclusive.run(() => verifyStore(store, opts, onProgress)),
    inventory: (filter) => listInventory(store, filter, tagTtl),
    warm: async (opts, onProgress) => warmWith(deps, { ...opts, images: checkImageList(opts.images) }, onProgress),
    remove: async (opts, onProgress) => {
      checkImageList(opts.images);
      return exclusive.run(() => removeWith(deps, opts, onProgress));
    },
    expire: async (opts) => {
      checkImageList(opts.images);
      return exclusive.run(() => expireImages({ ...nameScope(deps), forgetNotFound: deps.forgetNotFound, tagTtl }, opts));
    },
    upstreams: async () => {
      if (deps.checkUpstreams === undefined) throw new OperationUnavailableError('checking upstreams needs the clients of a cache instance');
      return deps.checkUpstreams();
    },
    evictTo: (targetBytes) => gc({ maxSize: targetBytes }),
    async close() {
      await exclusive.idle();
    },
  };
}
