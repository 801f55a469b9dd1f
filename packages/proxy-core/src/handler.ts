/**
 * The Node `(req, res)` handler: check client credentials (when client auth is on, before
 * anything else, so an anonymous caller learns nothing — not even whether a path parses),
 * parse the request target once (registry-protocol), refuse what a read-only cache cannot
 * do, pick the upstream, dispatch by route, and map any error once to its OCI envelope. One
 * log line per request (at info), with the cache result.
 *
 * A manifest answered a moment ago is replayed first, synchronously (hot-responses.ts): no
 * parse, no await, no closure, no per-request object of ours; its bookkeeping — the store's
 * access time, the hit and byte counters, the request metrics — is a few integer additions.
 * This is the whole cost of a cache's most frequent request, so it is kept that small.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseRequestTarget, ProtocolError, type Route } from '@regcache/registry-protocol';
import { handleBlob } from './blobs.js';
import type { ClientAuth } from './client-auth.js';
import type { CacheParts, RequestRecord, RequestState } from './context.js';
import { createMemo } from './memo.js';
import { CacheClosedError, describeError, MethodNotAllowedError, toOciError, type RouteKind } from './errors.js';
import { countReplay } from './hot-feed.js';
import { writeReplay, type HotAnswer } from './hot-responses.js';
import { loggedPath } from './logged-path.js';
import { failedUpstream } from './metrics.js';
import { handleManifest } from './manifests.js';
import { handleReferrers } from './referrers.js';
import { sendError, sendJson } from './respond.js';
import type { Router } from './routing.js';
import { handleTags } from './tags.js';

export type RegistryHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** What a replay returns: the handler's promise, settled already (one for all requests). */
const SETTLED: Promise<void> = Promise.resolve();

export function createHandler(parts: CacheParts, router: Router, clientAuth: ClientAuth): RegistryHandler {
  const answer = createAnswer(parts, router, clientAuth);
  return function handle(req, res) {
    try {
      // Credentials first: a refused request takes the normal path, which says why.
      const hot = parts.closed() || (clientAuth.enabled && !clientAuth.allows(req)) ? undefined : parts.hot.lookup(req);
      if (hot === undefined) return answer(req, res);
      replay(parts, req, res, hot);
      return SETTLED;
    } catch (error) {
      // As from an async handler: a promise, never a synchronous throw.
      return Promise.reject(error);
    }
  };
}

/** The normal path: every request that is not a replay. */
function createAnswer(parts: CacheParts, router: Router, clientAuth: ClientAuth): RegistryHandler {
  const parseTarget = createMemo(parseRequestTarget);
  return async function answer(req, res) {
    const started = process.hrtime.bigint();
    const head = req.method === 'HEAD';
    let kind: RouteKind = 'other';
    let state: RequestState | undefined;
    // Recorded once the response has closed and this handler is done, whichever comes last: a
    // client may close the moment it has the body — sent by sendfile, before res.end() here —
    // and only the handler knows by then how many bytes went out.
    let pending = 2;
    const settle = (): void => {
      pending -= 1;
      if (pending === 0) logRequest(parts, req, res, state, started, kind);
    };
    res.once('close', settle);
    // The response starts at 200 whatever the embedding framework set before (Koa starts every
    // response at 404); an answer that is not a 200 sets its own status.
    res.statusCode = 200;
    try {
      if (clientAuth.enabled) await clientAuth.check(req);
      if (parts.closed()) throw new CacheClosedError();
      const target = parseTarget(req.url ?? '/');
      if (!target.ok) throw target.error;
      const { route, query } = target.value;
      kind = routeKind(route);
      refuseWrites(req.method ?? 'GET', route);
      if (route.kind === 'base') return sendJson(res, 200, {}, head);
      const name = 'name' in route ? route.name : undefined;
      const { upstream, repo } = router.resolve(name, query.ns, req.headers.host);
      if (repo === undefined) throw new ProtocolError('UNSUPPORTED', 'the catalog is not available through a pull-through cache');
      state = { req, res, head, query, upstream, repo, cache: 'miss', bytes: 0, hotEpoch: parts.hot.epoch() };
      await dispatch(parts, state, route);
    } catch (error) {
      const info = toOciError(error, kind);
      if (state) state.cache = 'error';
      if (info.code === 'UNKNOWN') parts.logger.error({ err: error, path: safePath(req) }, 'unexpected error');
      if (info.fault !== undefined && state) countFault(parts, state, info.fault, error);
      sendError(res, info, head);
    } finally {
      settle();
    }
  };
}

/**
 * A failed answer, counted against whose failure it was (errors.ts: `fault`): the upstream's, or
 * the store's (disk, index). Not while the cache is shutting down: a store being closed or fills
 * being stopped under a request are the shutdown's doing, not a failure of either. An upstream's
 * failure goes to the metric too, which counts each failure once (a body cut or stalled after
 * its head reaches no one else; one the upstream client or a fill counted is not counted again).
 */
function countFault(parts: CacheParts, state: RequestState, fault: 'upstream' | 'store', error: unknown): void {
  state.error = describeError(error);
  if (parts.closed()) return;
  // The store is one for all upstreams: its errors are counted in total only, as diskErrors are.
  if (fault === 'store') return parts.stats.add('storeErrors', undefined);
  parts.stats.add('upstreamErrors', state.upstream.config.name);
  parts.metrics.upstreamError(failedUpstream(error) ?? state.upstream.config.name, error);
}

async function dispatch(parts: CacheParts, state: RequestState, route: Route): Promise<void> {
  switch (route.kind) {
    case 'manifest':
      return handleManifest(parts, state, route.reference);
    case 'blob':
      return handleBlob(parts, state, route.digest);
    case 'tags':
      return handleTags(parts, state, route.name);
    case 'referrers':
      return handleReferrers(parts, state, route.digest);
    default:
      throw new ProtocolError('UNSUPPORTED', `${route.kind} is not available through a pull-through cache`);
  }
}

/** A pull-through cache is read-only: pushes, deletes and uploads are refused with UNSUPPORTED. */
function refuseWrites(method: string, route: Route): void {
  if (route.kind === 'upload') throw new ProtocolError('UNSUPPORTED', 'regcache is a read-only pull-through cache: pushes are not supported');
  if (method !== 'GET' && method !== 'HEAD') throw new MethodNotAllowedError(method);
}

function routeKind(route: Route): RouteKind {
  if (route.kind === 'manifest' || route.kind === 'blob' || route.kind === 'tags' || route.kind === 'base') return route.kind;
  return 'other';
}

function safePath(req: IncomingMessage): string {
  return loggedPath(req.url ?? '');
}

/** Replays a hot answer, with the bookkeeping the normal path does for a hit (observers excepted: counted directly). */
function replay(parts: CacheParts, req: IncomingMessage, res: ServerResponse, answer: HotAnswer): void {
  const started = infoLogged(parts) ? process.hrtime.bigint() : undefined;
  const bytes = writeReplay(res, answer, req.method);
  if (started === undefined) return countReplay(parts, answer, bytes, undefined);
  const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
  countReplay(parts, answer, bytes, { method: req.method ?? '', path: safePath(req), bytes, durationMs, upstream: answer.upstream, repo: answer.repo });
}

const infoLogged = (parts: CacheParts): boolean => parts.logger.isLevelEnabled?.('info') ?? true;

function logRequest(parts: CacheParts, req: IncomingMessage, res: ServerResponse, state: RequestState | undefined, started: bigint, route: RouteKind): void {
  const bytes = state?.bytes ?? 0;
  // Aborted: the body did not all go out (a client that closed once it had it all did not abort).
  const whole = state !== undefined && !state.head && bytes === Number(res.getHeader('content-length'));
  const outcome: Outcome = { route, bytes, cache: state?.cache ?? 'local', upstream: state?.upstream.config.name, repo: state?.repo, aborted: !res.writableFinished && !whole };
  if (state?.error !== undefined) outcome.error = state.error;
  record(parts, req, res, started, outcome);
}

type Outcome = Pick<RequestRecord, 'route' | 'bytes' | 'cache' | 'upstream' | 'repo' | 'aborted' | 'error'>;

/** One log line (at info) and the observers (metrics), per answered request. */
function record(parts: CacheParts, req: IncomingMessage, res: ServerResponse, started: bigint, outcome: Outcome): void {
  const logged = infoLogged(parts);
  if (!logged && parts.observers.length === 0) return;
  const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
  const entry: RequestRecord = { method: req.method ?? '', path: safePath(req), status: res.statusCode, durationMs: Math.round(durationMs * 10) / 10, ...outcome };
  if (logged) parts.logger.info(entry, 'request');
  for (const observe of parts.observers) observe(entry);
}
