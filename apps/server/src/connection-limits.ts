/**
 * What a client may hold on a connection (slowloris, idle keep-alive), the same for the main
 * listener (listen.ts) and the front threads (front/front-worker.ts). No runtime import of
 * proxy-core: a front thread loads this too, and stays small.
 */
import type { Server } from 'node:http';
import type { RegcacheConfig } from '@regcache/proxy-core';

/** node:http server options that bound what a client may hold. */
export interface ConnectionOptions {
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly keepAliveTimeout: number;
  readonly connectionsCheckingInterval: number;
}

/**
 * Slow clients are cut (slowloris): headers within `headersTimeout`, the whole request within
 * `requestTimeout`. Node checks them every `connectionsCheckingInterval` (30 s by default, which
 * would let a 2 s limit run to 32 s): a quarter of the shorter limit, at least 250 ms.
 */
export function connectionOptions(limits: RegcacheConfig['limits']): ConnectionOptions {
  const shorter = Math.min(limits.headersTimeout, limits.requestTimeout);
  return {
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(shorter / 4))),
  };
}

/**
 * Sets the limits on a server made with `options`. Many layers per pull over one connection
 * (keepAliveTimeout); a blob takes as long as it takes — requestTimeout bounds receiving the
 * request, never sending the response.
 */
export function applyConnectionLimits(server: Server, options: ConnectionOptions): void {
  server.keepAliveTimeout = options.keepAliveTimeout;
  server.headersTimeout = options.headersTimeout;
  server.requestTimeout = options.requestTimeout;
}
