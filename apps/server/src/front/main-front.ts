/**
 * The main thread's own raw front: the public node:http server's connections are read by
 * raw-front.ts first (it takes node's 'connection' listener's place), as the front threads
 * read theirs, so a hot answer costs the same whichever thread the kernel gave the connection
 * to. At the first request it cannot replay, the connection — the same socket, with the bytes
 * read and not answered put back in front — goes to node's own connection listener, and from
 * then on node:http treats it as any other (its limits, its keep-alive, its shutdown).
 *
 * Its replica (replica.ts) is fed by the hot table's `onRemember` in this thread and credited
 * to the cache every CREDIT_MS, like a front thread's. Used where the front threads may run:
 * a plain listener without client auth (front-threads.ts frontThreadCount).
 */
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { HotAnswerFeed, RegcacheConfig } from '@regcache/proxy-core';
import { connectionOptions } from '../connection-limits.js';
import { serveRaw } from './raw-front.js';
import { createReplayBytes } from './raw-head.js';
import { createReplica } from './replica.js';

/** How often this thread's replays are credited (counters and metrics lag by this much). */
const CREDIT_MS = 100;

export interface MainFront {
  /** Gives `socket` to node:http with `unread` to be parsed first (a front thread's hand-over too). */
  toHttp(socket: Socket, unread: Uint8Array): void;
  /** Ends the connections it still holds (idle between requests) and credits the last replays; the server's close does the rest. */
  close(): void;
}

export function installMainFront(http: HttpServer, feed: HotAnswerFeed, config: RegcacheConfig): MainFront {
  const [nodeListener] = http.listeners('connection') as Array<(this: HttpServer, socket: Socket) => void>;
  if (nodeListener === undefined) throw new Error('main-front: the server has no connection listener');
  const replica = createReplica({ byHost: config.upstreams.some((u) => u.hosts.length > 0), generation: feed.generation, logsRequests: feed.logsRequests });
  feed.onRemember((key, answer) => replica.keep(key, answer, Atomics.load(feed.generation, 0)));
  const credit = (): void => {
    const taken = replica.takeCredits();
    if (taken !== undefined) feed.credit(taken.credits, taken.records);
  };
  const timer = setInterval(credit, CREDIT_MS);
  timer.unref();
  const limits = connectionOptions(config.limits);
  const held = new Set<Socket>();
  const toHttp = (socket: Socket, unread: Uint8Array): void => {
    held.delete(socket);
    if (unread.byteLength > 0) socket.unshift(Buffer.from(unread.buffer, unread.byteOffset, unread.byteLength));
    nodeListener.call(http, socket);
    socket.resume();
  };
  const deps = { headersTimeout: limits.headersTimeout, keepAliveTimeout: limits.keepAliveTimeout, lookup: replica.lookup, bytesOf: createReplayBytes(limits.keepAliveTimeout), replayed: replica.replayed, handOff: toHttp };
  http.off('connection', nodeListener);
  http.on('connection', (socket: Socket) => {
    held.add(socket);
    socket.once('close', () => held.delete(socket));
    serveRaw(socket, deps);
  });
  return {
    toHttp,
    close() {
      clearInterval(timer);
      for (const socket of held) {
        socket.pause();
        socket.end();
      }
      credit();
    },
  };
}
