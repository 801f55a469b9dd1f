/**
 * Wiring the server: the cache, the public listener, the admin listener, and a graceful
 * close — stop accepting, let in-flight pulls finish up to a deadline, then cut what is
 * left and close the store (flushing LevelDB).
 *
 * Keep-alive and shutdown: Node keeps a connection open for `keepAliveTimeout` after its
 * response, even once the server is closing, so a pull that finished would hold the process
 * until the deadline. While closing, every response says `Connection: close` and connections
 * are closed as soon as they fall idle.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { adminEndpoint, createRegistryCache, parseListen, type Logger, type RegcacheConfig, type RegistryCache } from '@regcache/proxy-core';
import { createLoads } from './front/balance.js';
import { frontThreadCount, rawFrontsApply, startFrontThreads, type FrontThreads } from './front/front-threads.js';
import { installMainFront } from './front/main-front.js';
import { createPublicServer, listenOn } from './listen.js';

export interface RunningServer {
  readonly cache: RegistryCache;
  /** `host:port` the registry listens on. */
  readonly address: string;
  readonly adminAddress: string;
  /** Front threads replaying hot manifest answers beside the main thread (front/front-threads.ts). */
  readonly frontThreads: number;
  close(deadlineMs?: number): Promise<void>;
  /** During close(): cut the connections left now rather than at the deadline (a second signal). */
  cutNow(reason: string): void;
}

export async function startServer(config: RegcacheConfig, logger: Logger): Promise<RunningServer> {
  const publicAddress = parseListen(config.listen, 'listen');
  const admin = adminEndpoint(config);
  const cache = await createRegistryCache(config, { logger, reclaimMemory: youngGenerationGc() });
  const draining = { on: false };
  const server = await createPublicServer(config, lastWhileDraining(draining, cache.handler));
  const adminServer = await createPublicServer({ ...config, tls: undefined }, lastWhileDraining(draining, cache.adminHandler));
  // Where the fronts may run, the main thread reads its connections' hot requests itself too (main-front.ts).
  // Connections are spread over the main thread and the fronts (front/balance.ts).
  const loads = createLoads(1 + frontThreadCount(config));
  const mainFront = rawFrontsApply(config) ? installMainFront(server, cache.hotAnswers, config, loads) : undefined;
  let address: string;
  let adminBound: string;
  try {
    address = await listenOn(server, publicAddress);
    adminBound = await listenOn(adminServer, admin);
  } catch (error) {
    for (const s of [server, adminServer]) if (s.listening) s.close();
    mainFront?.close();
    await cache.close();
    throw error;
  }
  const fronts = mainFront === undefined ? NO_FRONTS : await startFrontThreads(server, mainFront, loads, cache, config, logger);
  let closing: Shutdown | undefined;
  return {
    cache,
    address,
    adminAddress: adminBound,
    frontThreads: fronts.count,
    close(deadlineMs = 30_000) {
      draining.on = true;
      mainFront?.close();
      closing ??= shutdown([server, adminServer], [fronts.stop(), mainFront?.drained() ?? Promise.resolve()], cache, deadlineMs, logger);
      return closing.done;
    },
    cutNow: (reason) => closing?.cut(reason),
  };
}

interface Shutdown {
  done: Promise<void>;
  /** Closes every connection left now, once, saying why and how many. */
  cut(reason: string): void;
}

const NO_FRONTS: FrontThreads = { count: 0, stop: () => Promise.resolve() };

/** How often a closing server looks for connections that fell idle. */
const IDLE_SWEEP_MS = 100;

/** While draining, a response is the last on its connection. */
function lastWhileDraining(draining: { on: boolean }, handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (draining.on) res.setHeader('connection', 'close');
    void handler(req, res);
  };
}

/** `fronts`: the front threads' stop and the connections the main thread's replay loop gave node:http (which server.close() does not count). */
function shutdown(servers: Server[], fronts: Array<Promise<void>>, cache: RegistryCache, deadlineMs: number, logger: Logger): Shutdown {
  let cutting = false;
  const cut = (reason: string): void => {
    if (cutting) return;
    cutting = true;
    const counts = servers.map((server) => new Promise<number>((resolve) => server.getConnections((error, n) => resolve(error ? 0 : n))));
    void Promise.all(counts).then((ns) => {
      const left = ns.reduce((sum, n) => sum + n, 0);
      logger.warn({ reason, connections: left }, `shutdown: cutting the ${left} connections left (${reason})`);
      for (const server of servers) server.closeAllConnections();
    });
  };
  return { done: drain(servers, fronts, cache, deadlineMs, cut), cut };
}

async function drain(servers: Server[], fronts: Array<Promise<void>>, cache: RegistryCache, deadlineMs: number, cut: (reason: string) => void): Promise<void> {
  const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
  // The fronts' last credits must reach the store before it closes.
  closed.push(...fronts);
  const sweepIdle = (): void => {
    for (const server of servers) server.closeIdleConnections();
  };
  sweepIdle();
  const sweep = setInterval(sweepIdle, IDLE_SWEEP_MS);
  const timer = setTimeout(() => cut(`limits.shutdownTimeout of ${deadlineMs} ms passed`), deadlineMs);
  await Promise.all(closed);
  clearInterval(sweep);
  clearTimeout(timer);
  await cache.close();
}

/**
 * A young-generation GC, for the fills to run every few MiB (RegistryCacheOptions.reclaimMemory),
 * when Node exposes `gc` (the bin starts it with --expose-gc); undefined otherwise.
 */
function youngGenerationGc(): (() => void) | undefined {
  const collect = globalThis.gc;
  return collect === undefined ? undefined : () => void collect({ type: 'minor' });
}
