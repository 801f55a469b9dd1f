/**
 * The admin API, for a loopback port or unix socket (never the public listener); requests
 * from web pages on this host are refused (admin-guard.ts).
 * `regcache-admin` talks to it when a server holds the store (LevelDB is single-process).
 *
 *   GET  /healthz            the process answers
 *   GET  /readyz             the store's index answers and its disk takes a write (503 if not)
 *   GET  /metrics            Prometheus text
 *   GET  /stats              the stats report (JSON)
 *   GET  /ls[?repo=NAME]     repositories, tags, sizes, last use (JSON)
 *   POST /gc      {maxSize?, maxAge?, dryRun?}         NDJSON: progress lines, then the result
 *   POST /verify  {sample?, repair?}                   NDJSON
 *   POST /warm    {images: [...], platform?}           NDJSON
 *   POST /rm      {images: [...], allTags?, purge?, dryRun?}  NDJSON
 *   POST /expire  {images: [...], allTags?}            NDJSON
 *   GET  /upstreams          each upstream asked GET /v2/ as fills ask it (JSON)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlobStoreError } from '@regcache/blob-store';
import { browserRefusal } from './admin-guard.js';
import { readJsonBody, sendAdminError, sendAdminJson, sendText, streamOperation, type ErrorDescription } from './admin-io.js';
import { expireRequest, gcRequest, removeRequest, verifyRequest, warmRequest } from './admin-requests.js';
import type { GuardedStore } from './guarded-store.js';
import { checkReadiness } from './health.js';
import type { Logger } from './logger.js';
import type { CacheMetrics } from './metrics.js';
import { OperationInputError, OperationUnavailableError } from './operation-errors.js';
import type { AdminOperations } from './operations.js';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface AdminDeps {
  operations: AdminOperations;
  metrics: CacheMetrics;
  store: GuardedStore;
  inFlightFills(): number;
  logger: Logger;
}

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

function describe(logger: Logger): (error: unknown) => ErrorDescription {
  return (error) => {
    if (error instanceof OperationInputError) return { status: 400, kind: 'input', message: error.message };
    if (error instanceof OperationUnavailableError) return { status: 501, kind: 'unavailable', message: error.message };
    if (error instanceof BlobStoreError) return { status: 503, kind: 'unavailable', message: `the store is not available: ${error.message}` };
    logger.error({ err: error }, 'admin operation failed');
    return { status: 500, kind: 'internal', message: error instanceof Error ? error.message : 'internal error' };
  };
}

function routes(deps: AdminDeps, explain: (error: unknown) => ErrorDescription): Record<string, Route> {
  const { operations: ops } = deps;
  return {
    'GET /healthz': async (_req, res) => sendAdminJson(res, 200, { status: 'ok' }),
    'GET /readyz': async (_req, res) => {
      const readiness = await checkReadiness(deps.store, deps.inFlightFills());
      sendAdminJson(res, readiness.ready ? 200 : 503, { status: readiness.ready ? 'ready' : 'unready', ...readiness });
    },
    'GET /metrics': async (_req, res) => sendText(res, deps.metrics.contentType, await deps.metrics.render()),
    'GET /stats': async (_req, res) => sendAdminJson(res, 200, await ops.stats()),
    'GET /ls': async (_req, res, url) => sendAdminJson(res, 200, await ops.inventory(url.searchParams.get('repo') ?? undefined)),
    'GET /upstreams': async (_req, res) => sendAdminJson(res, 200, await ops.upstreams()),
    'POST /gc': async (req, res) => {
      const opts = gcRequest(await readJsonBody(req));
      await streamOperation(res, (progress) => ops.gc(opts, progress), explain);
    },
    'POST /verify': async (req, res) => {
      const opts = verifyRequest(await readJsonBody(req));
      await streamOperation(res, (progress) => ops.verify(opts, progress), explain);
    },
    'POST /warm': async (req, res) => {
      const opts = warmRequest(await readJsonBody(req));
      await streamOperation(res, (progress) => ops.warm(opts, progress), explain);
    },
    'POST /rm': async (req, res) => {
      const opts = removeRequest(await readJsonBody(req));
      await streamOperation(res, (progress) => ops.remove(opts, progress), explain);
    },
    'POST /expire': async (req, res) => {
      const opts = expireRequest(await readJsonBody(req));
      await streamOperation(res, () => ops.expire(opts), explain);
    },
  };
}

export function createAdminHandler(deps: AdminDeps): AdminHandler {
  const explain = describe(deps.logger);
  const table = routes(deps, explain);
  return async (req, res) => {
    const refusal = browserRefusal(req);
    if (refusal !== undefined) return sendAdminError(res, { status: 403, kind: 'input', message: refusal });
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const route = table[`${method} ${url.pathname}`];
    try {
      if (route === undefined) {
        const known = Object.keys(table).some((key) => key.endsWith(` ${url.pathname}`));
        return sendAdminError(res, { status: known ? 405 : 404, kind: 'input', message: known ? `${req.method ?? ''} is not allowed here` : `no admin endpoint ${url.pathname}` });
      }
      await route(req, res, url);
    } catch (error) {
      sendAdminError(res, explain(error));
    }
  };
}
