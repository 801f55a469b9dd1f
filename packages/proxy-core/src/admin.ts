/**
 * The admin API, for a loopback port or unix socket (never the public listener): health,
 * readiness and the counters. `regcache-admin` talks to it when a server holds the store.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CacheParts } from './context.js';
import { collectStats } from './report.js';
import { sendError, sendJson } from './respond.js';

export function createAdminHandler(parts: CacheParts): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    try {
      switch (path) {
        case '/healthz':
          return sendJson(res, 200, { status: 'ok' }, head);
        case '/readyz':
          return sendJson(res, 200, { status: 'ready', inFlightFills: parts.fills.inFlight() }, head);
        case '/stats':
          await parts.store.flush();
          return sendJson(res, 200, await collectStats(parts.store, parts.config.storage.maxSize), head);
        default:
          return sendError(res, { code: 'NOT_FOUND', message: 'no such admin endpoint' }, head);
      }
    } catch {
      return sendError(res, { code: 'UNAVAILABLE', message: 'the store is not available' }, head);
    }
  };
}
