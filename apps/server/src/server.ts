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
import type { Socket } from 'node:net';
import { adminEndpoint, createRegistryCache, parseListen, type Logger, type RegcacheConfig, type RegistryCache } from '@regcache/proxy-core';
import { createLoads } from './front/balance.js';
import { frontThreadCount, rawFrontsApply, startFrontThreads, type FrontThreads } from './front/front-threads.js';
import { installMainFront } from './front/main-front.js';
import { createPublicServer, listenOn } from './listen.js';
import { countOpen, trackConnections, trackHandlers, type Handlers } from './in-flight.js';

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
  const handlers = trackHandlers();
  const server = await createPublicServer(config, lastWhileDraining(draining, handlers.wrap(cache.handler)), logger);
  const adminServer = await createPublicServer({ ...config, tls: undefined }, lastWhileDraining(draining, handlers.wrap(cache.adminHandler)), logger);
  // Before the main front takes node's connection listener (in-flight.ts).
  const connections = [trackConnections(server), trackConnections(adminServer)];
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
      closing ??= shutdown({ servers: [server, adminServer], connections, handlers, fronts: [fronts.stop(), mainFront?.drained() ?? Promise.resolve()] }, cache, deadlineMs, logger);
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

/**
 * How long the handlers of requests cut may take to return once their connections are gone,
 * before the store closes: each then logs its request line and adds its counters. A blob sent
 * by sendfile sees its cut within 100 ms (the sender thread's wake-up); without this wait the
 * store closed first and the process exited before the line was written.
 */
const HANDLERS_GRACE_MS = 1000;

/** What a shutdown drains: the servers, the connections node:http serves on them (in-flight.ts), the handlers' calls, and the fronts. */
interface Draining {
  readonly servers: Server[];
  readonly connections: ReadonlyArray<ReadonlySet<Socket>>;
  readonly handlers: Handlers;
  /** The front threads' stop and the connections the main thread's replay loop gave node:http (which server.close() does not count). */
  readonly fronts: Array<Promise<void>>;
}

/** While draining, a response is the last on its connection. */
function lastWhileDraining(draining: { on: boolean }, handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (draining.on) res.setHeader('connection', 'close');
    void handler(req, res);
  };
}

function shutdown(what: Draining, cache: RegistryCache, deadlineMs: number, logger: Logger): Shutdown {
  let cutting = false;
  const cut = (reason: string): void => {
    if (cutting) return;
    cutting = true;
    const left = countOpen(what.connections);
    logger.warn({ reason, connections: left }, `shutdown: cutting the ${left} connection${left === 1 ? '' : 's'} left (${reason})`);
    for (const server of what.servers) server.closeAllConnections();
  };
  return { done: drain(what, cache, deadlineMs, cut), cut };
}

async function drain({ servers, handlers, fronts }: Draining, cache: RegistryCache, deadlineMs: number, cut: (reason: string) => void): Promise<void> {
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
  await handlers.settled(HANDLERS_GRACE_MS);
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
