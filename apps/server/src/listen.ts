/**
 * Listening: the public registry listener (HTTPS when a cert and key are configured, HTTP
 * otherwise, keep-alive tuned for pulls of many layers) and the admin listener, which may
 * only be a unix socket or a loopback address — never the public interface.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile, rm } from 'node:fs/promises';
import { ConfigError, refuseConnect, type ListenAddress, type RegcacheConfig } from '@regcache/proxy-core';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** node:http server options that bound what a client may hold (also given to the front threads). */
export interface ConnectionOptions {
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly keepAliveTimeout: number;
  readonly connectionsCheckingInterval: number;
}

export async function createPublicServer(config: RegcacheConfig, handler: Handler): Promise<Server> {
  const options = connectionOptions(config.limits);
  let server: Server;
  if (config.tls) {
    const [cert, key] = await Promise.all([readTlsFile(config.tls.cert, 'tls.cert'), readTlsFile(config.tls.key, 'tls.key')]);
    server = createHttpsServer({ cert, key, ...options }, handler);
  } else {
    server = createHttpServer(options, handler);
  }
  server.on('connect', refuseConnect);
  // Many layers per pull over one connection (limits.keepAliveTimeout); a blob takes as long as
  // it takes — requestTimeout bounds receiving the request, never sending the response.
  server.keepAliveTimeout = options.keepAliveTimeout;
  server.headersTimeout = options.headersTimeout;
  server.requestTimeout = options.requestTimeout;
  return server;
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

async function readTlsFile(path: string, key: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ConfigError([{ path: key, message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` }]);
  }
}

export async function listenOn(server: Server, address: ListenAddress): Promise<string> {
  if (address.kind === 'unix') await rm(address.path, { force: true });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolveListen();
    };
    if (address.kind === 'unix') server.listen(address.path, done);
    else server.listen(address.port, address.host, done);
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') return `unix:${bound ?? ''}`;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return `${host}:${bound.port}`;
}
