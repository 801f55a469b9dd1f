/** What a request handler needs: the instance's parts, and the request being answered. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AcceptEntry, Digest, Query, RepositoryName } from '@regcache/registry-protocol';
import type { RegcacheConfig, UpstreamConfig } from './config.js';
import type { FillEngine } from './fill/engine.js';
import type { Logger } from './logger.js';
import type { Stats } from './stats.js';
import type { UpstreamClient } from './upstream/client.js';
import type { Mirror } from './upstream/mirrors.js';
import type { ManifestFetcher } from './manifest-fetch.js';
import type { Freshness } from './freshness.js';
import type { HotEpoch, HotResponses } from './hot-responses.js';
import type { CacheMetrics } from './metrics.js';
import type { GuardedStore } from './guarded-store.js';

export interface Upstream {
  readonly config: UpstreamConfig;
  readonly client: UpstreamClient;
  /** Asked before `client` for what is named by digest (upstream/mirrors.ts). */
  readonly mirrors: readonly Mirror[];
}

/** What one answered request looked like: the log line, and what metrics observe. */
export interface RequestRecord {
  method: string;
  path: string;
  route: string;
  status: number;
  bytes: number;
  durationMs: number;
  cache: CacheResult;
  upstream: string | undefined;
  /** The repository as the upstream knows it, when the request named one. */
  repo: string | undefined;
  aborted: boolean;
  /** For an UNAVAILABLE answer: why the upstream could not be used, with its causes. */
  error?: string;
}

/**
 * Observers of answered requests (metrics, served bytes); called once per request when its
 * response closes. Replayed hot answers are not observed: they are counted directly
 * (`stats.replayed`, `metrics.replayed`), the same counts for a fraction of the cost.
 */
export type RequestObserver = (record: RequestRecord) => void;

export interface CacheParts {
  readonly config: RegcacheConfig;
  readonly store: GuardedStore;
  readonly fills: FillEngine;
  readonly manifests: ManifestFetcher;
  /** Shared tag revalidations and the cached tag lists. */
  readonly freshness: Freshness;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly logger: Logger;
  readonly stats: Stats;
  readonly observers: RequestObserver[];
  /** The instance's Prometheus metrics (replays count in them directly). */
  readonly metrics: CacheMetrics;
  /** Accept headers repeat across clients: each distinct one is parsed once (per instance). */
  readonly parseAccept: (header: string) => AcceptEntry[];
  /** Whole manifest answers replayed without a store read (hot-responses.ts). */
  readonly hot: HotResponses;
  /** Response heads of cached manifests, built once per digest (headers.ts). */
  readonly manifestHead: (digest: Digest, mediaType: string, length: number, result: CacheResult) => Readonly<Record<string, string>>;
  /** `close()` has been called: every request is answered UNAVAILABLE (errors.ts, CacheClosedError). */
  readonly closed: () => boolean;
}

/** How a request was answered, for the request log line and the counters. */
export type CacheResult = 'hit' | 'miss' | 'coalesced' | 'stale' | 'pass' | 'local' | 'error';

export interface RequestState {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly head: boolean;
  readonly query: Query;
  readonly upstream: Upstream;
  /** The repository as the upstream knows it (prefix stripped, `library/` added for Docker Hub). */
  readonly repo: RepositoryName;
  cache: CacheResult;
  bytes: number;
  /**
   * `hot.epoch()` before anything this request answers with was read (or written by it): its
   * answer is kept for replay only if nothing was forgotten since.
   */
  hotEpoch: HotEpoch;
  /** Why the upstream failed this request (describeError), for its record. */
  error?: string;
}
