/**
 * Wiring the server: the cache, the public listener, the admin listener, and a graceful
 * close — stop accepting, let in-flight pulls finish up to a deadline, then cut what is
 * left and close the store (flushing LevelDB).
 */
import type { Server } from 'node:http';
import { adminEndpoint, createRegistryCache, parseListen, type Logger, type RegcacheConfig, type RegistryCache } from '@regcache/proxy-core';
import { createPublicServer, listenOn } from './listen.js';

export interface RunningServer {
  readonly cache: RegistryCache;
  /** `host:port` the registry listens on. */
  readonly address: string;
  readonly adminAddress: string;
  close(deadlineMs?: number): Promise<void>;
}

export async function startServer(config: RegcacheConfig, logger: Logger): Promise<RunningServer> {
  const publicAddress = parseListen(config.listen, 'listen');
  const admin = adminEndpoint(config);
  const cache = await createRegistryCache(config, { logger });
  const server = await createPublicServer(config, (req, res) => void cache.handler(req, res));
  const adminServer = await createPublicServer({ ...config, tls: undefined }, (req, res) => void cache.adminHandler(req, res));
  let address: string;
  let adminBound: string;
  try {
    address = await listenOn(server, publicAddress);
    adminBound = await listenOn(adminServer, admin);
  } catch (error) {
    for (const s of [server, adminServer]) if (s.listening) s.close();
    await cache.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    cache,
    address,
    adminAddress: adminBound,
    close(deadlineMs = 30_000) {
      closing ??= shutdown([server, adminServer], cache, deadlineMs);
      return closing;
    },
  };
}

async function shutdown(servers: Server[], cache: RegistryCache, deadlineMs: number): Promise<void> {
  const closed = servers.map(
    (server) =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  );
  const timer = setTimeout(() => {
    for (const server of servers) server.closeAllConnections();
  }, deadlineMs);
  await Promise.all(closed);
  clearTimeout(timer);
  await cache.close();
}
