/**
 * Starting and stopping the front threads (front-worker.ts) beside the main thread's public
 * server, and the main thread's half of their protocol (wire.ts): every answer the hot table
 * keeps goes to each front; their credits count as the main thread's own replays; a connection
 * a front hands over is adopted by the main thread's node:http server with the bytes the front
 * read and did not answer put back in front of whatever the client sends next.
 *
 * Fronts run only where a connection can change threads between requests and a replay needs no
 * per-request check: a plain (non-TLS) listener with client auth off. TLS state lives in one
 * thread's OpenSSL; an authenticated replay would need the credentials checked in the front.
 */
import { closeSync, existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { HotAnswerFeed, Logger, RegcacheConfig, RegistryCache } from '@regcache/proxy-core';
import { loadSendfile, socketFd, type Sendfile } from '@regcache/sendfile';
import { connectionOptions } from '../connection-limits.js';
import { stopServing } from './balance.js';
import { detachSocket } from './detach.js';
import type { MainFront } from './main-front.js';
import { toWire, type FromFront, type FrontData, type ToFront } from './wire.js';

export interface FrontThreads {
  /** How many are running. */
  readonly count: number;
  /** Closes their connections, takes their last credits, and waits for them to end. */
  stop(): Promise<void>;
}

/** How long a front gets to end after `stop` before it is terminated. */
const STOP_MS = 5_000;

/** Whether hot answers may be replayed before node:http sees the request: a plain listener, client auth off. */
export function rawFrontsApply(config: RegcacheConfig): boolean {
  const clientAuth = config.auth.htpasswd !== undefined || config.auth.tokens.length > 0;
  return config.tls === undefined && !clientAuth;
}

/** The front threads this config asks for: `limits.frontThreads`, else 1 with more than one CPU; 0 where they cannot work. */
export function frontThreadCount(config: RegcacheConfig): number {
  if (!rawFrontsApply(config)) return 0;
  return config.limits.frontThreads ?? (availableParallelism() > 1 ? 1 : 0);
}

/** How long a front gets to start listening before the server starts without it. */
const START_MS = 10_000;

/** Starts the fronts and resolves once each is listening (one that fails to start is left out, with an error logged). */
/**
 * The fronts accept on `server`'s listening socket; a connection one hands over goes to node:http
 * through `main` (main-front.ts), and connections are spread over all of them through `loads`
 * (balance.ts; front i at index i + 1).
 */
export async function startFrontThreads(server: Server, main: MainFront, loads: Int32Array, cache: RegistryCache, config: RegcacheConfig, logger: Logger): Promise<FrontThreads> {
  const wanted = Math.min(frontThreadCount(config), loads.length - 1);
  const script = fileURLToPath(new URL('./front-worker.js', import.meta.url));
  const addon = loadSendfile();
  const listenFd = socketFd(server);
  if (wanted === 0 || addon === undefined || listenFd === undefined || !existsSync(script)) {
    if (wanted > 0) logger.warn({ frontThreads: wanted }, 'front threads not started: needs the sendfile addon and the built front-worker.js');
    return { count: 0, stop: () => Promise.resolve() };
  }
  const feed = cache.hotAnswers;
  const base = { byHost: config.upstreams.some((u) => u.hosts.length > 0), generation: feed.generation, logsRequests: feed.logsRequests, connections: connectionOptions(config.limits), loads };
  const state: AdoptState = { open: true, main, adopted: new Set(), fronts: new Map() };
  for (let index = 1; index <= wanted; index++) {
    try {
      const front = spawnFront(script, { ...base, index, listenFd: addon.dup(listenFd) }, server, feed, state, logger);
      // Every answer the table holds now, then each it keeps, ready or not (a worker keeps its
      // messages until it listens for them): a front that missed one would hand over every
      // request for it until it was kept again.
      let running = true;
      feed.onRemember((key, answer) => {
        const message: ToFront = { kind: 'keep', key, answer: toWire(answer), generation: Atomics.load(feed.generation, 0) };
        if (running) front.worker.postMessage(message);
      });
      void front.exited.then(() => {
        running = false;
        stopServing(loads, index);
        state.fronts.delete(index);
      });
      if (await front.ready) state.fronts.set(index, front);
      else void front.worker.terminate();
    } catch (error) {
      logger.error({ err: error }, 'front thread not started');
    }
  }
  main.passWith((to, socket) => passTo(to, socket, state, addon));
  return {
    count: state.fronts.size,
    async stop() {
      state.open = false;
      for (const index of state.fronts.keys()) stopServing(loads, index);
      await Promise.all([...state.fronts.values()].map((front) => stopOne(front)));
      // The server's own close does not wait for connections it did not accept: these are waited for here.
      await Promise.all([...state.adopted].map((socket) => new Promise((resolve) => socket.once('close', resolve))));
    },
  };
}

interface Front {
  readonly worker: Worker;
  /** True once it listens; false if it ended or did not listen within START_MS. */
  readonly ready: Promise<boolean>;
  readonly exited: Promise<void>;
}

/** Whether hand-overs are still taken, the connections taken (until they close), and the fronts by index. */
interface AdoptState {
  open: boolean;
  readonly main: MainFront;
  readonly adopted: Set<Socket>;
  readonly fronts: Map<number, Front>;
}

function spawnFront(script: string, workerData: FrontData, server: Server, feed: HotAnswerFeed, state: AdoptState, logger: Logger): Front {
  const worker = new Worker(script, { workerData });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let listening: (ok: boolean) => void = () => {};
  const ready = new Promise<boolean>((resolve) => (listening = resolve));
  const timer = setTimeout(() => listening(false), START_MS);
  timer.unref();
  void exited.then(() => listening(false));
  worker.on('message', (message: FromFront) => {
    if (message.kind === 'credit') feed.credit(message.credits, message.records, workerData.index);
    else if (message.kind === 'handoff') adopt(server, message.fd, state, (socket) => state.main.toHttp(socket, message.unread));
    else if (message.kind === 'give') give(server, message.fd, message.to, state);
    else {
      clearTimeout(timer);
      listening(true);
    }
  });
  worker.on('error', (error) => logger.error({ err: error }, 'front thread failed'));
  return { worker, ready, exited };
}

function stopOne(front: Front): Promise<void> {
  const timer = setTimeout(() => void front.worker.terminate(), STOP_MS);
  const stop: ToFront = { kind: 'stop' };
  front.worker.postMessage(stop);
  return front.exited.finally(() => clearTimeout(timer));
}

/**
 * A connection handed over by a front: the bytes the front read and did not answer are read
 * first, then whatever follows.
 * It is the server's like any other (its limits, `closeIdleConnections`), except that
 * `server.close()` does not count it — node counts only the connections it accepted itself.
 */
function adopt(server: Server, fd: number, state: AdoptState, serve: (socket: Socket) => void): void {
  if (!state.open || !server.listening) {
    closeSync(fd);
    return;
  }
  const socket = new Socket({ fd, readable: true, writable: true });
  state.adopted.add(socket);
  socket.once('close', () => state.adopted.delete(socket));
  serve(socket);
}

/** A connection a front accepted and placed with thread `to` (balance.ts): served here, or sent on to that front. */
function give(server: Server, fd: number, to: number, state: AdoptState): void {
  const front = state.fronts.get(to);
  if (to === 0 || front === undefined || !state.open) return adopt(server, fd, state, (socket) => state.main.serve(socket));
  sendAdopt(front, fd);
}

/** Main thread → front `to`: a dup of the connection's descriptor, and this thread's closed (nothing was read from it). */
function passTo(to: number, socket: Socket, state: AdoptState, addon: Sendfile): boolean {
  const front = state.fronts.get(to);
  if (!state.open || front === undefined) return false;
  const fd = detachSocket(socket, addon);
  if (fd === undefined) return false; // destroyed: its close is counted where it is kept
  sendAdopt(front, fd);
  return true;
}

/** A connection's descriptor to front `front`, which serves it from now on. */
function sendAdopt(front: Front, fd: number): void {
  const message: ToFront = { kind: 'adopt', fd };
  front.worker.postMessage(message);
}
