/**
 * The main thread's own raw front: the public node:http server's connections are read by
 * raw-front.ts first (it takes node's 'connection' listener's place), as the front threads
 * read theirs, so a hot answer costs the same whichever thread the kernel gave the connection
 * to. At the first request it cannot replay, the connection — the same socket, with the bytes
 * read and not answered put back in front — goes to node's own connection listener, and from
 * then on node:http treats it as any other (its limits, its keep-alive, its shutdown).
 *
 * It places each connection it accepts (balance.ts): one placed with a front is passed there
 * (front-threads.ts) before anything is read from it.
 *
 * It looks answers up in the hot table itself and counts each replay as the handler counts its
 * own (`cache.hotAnswers`: no copy of the table in this thread). Used where the front threads
 * may run: a plain listener without client auth (front-threads.ts rawFrontsApply).
 */
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { HotAnswerFeed, RegcacheConfig } from '@regcache/proxy-core';
import { loggedPath } from '@regcache/proxy-core/front';
import { connectionOptions } from '../connection-limits.js';
import { createBalance } from './balance.js';
import { startMainNative } from './main-native.js';
import { serveRaw, type RawFrontDeps } from './raw-front.js';
import { createHeadReader, createReplayBytes } from './raw-head.js';

export interface MainFront {
  /** Gives a front thread's hand-over to node:http with `unread` to be parsed first; this thread serves it from now. */
  toHttp(socket: Socket, unread: Uint8Array): void;
  /** Serves a connection a front placed with this thread (balance.ts; counted there already). */
  serve(socket: Socket): void;
  /** How a connection placed with front `to` gets there (false: it could not, this thread keeps it). */
  passWith(pass: (to: number, socket: Socket) => boolean): void;
  /** Ends the connections it still holds (idle between requests); the server's close does the rest. */
  close(): void;
  /** Resolves once every connection node:http got from the replay loop has closed (server.close() does not count them). */
  drained(): Promise<void>;
}

/** `loads`: the shared connection counts (balance.ts), this thread's at index 0. */
export function installMainFront(http: HttpServer, feed: HotAnswerFeed, config: RegcacheConfig, loads: Int32Array): MainFront {
  const [nodeListener] = http.listeners('connection') as Array<(this: HttpServer, socket: Socket) => void>;
  if (nodeListener === undefined) throw new Error('main-front: the server has no connection listener');
  const limits = connectionOptions(config.limits);
  const held = new Set<Socket>();
  const balance = createBalance(loads, 0);
  let pass: (to: number, socket: Socket) => boolean = () => false;
  const toHttp = (socket: Socket, unread: Uint8Array): void => {
    held.delete(socket);
    if (unread.byteLength > 0) socket.unshift(Buffer.from(unread.buffer, unread.byteOffset, unread.byteLength));
    nodeListener.call(http, socket);
    socket.resume();
  };
  const deps: RawFrontDeps = {
    headersTimeout: limits.headersTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    readHead: createHeadReader(),
    lookup: (req) => feed.lookup(req),
    bytesOf: createReplayBytes(limits.keepAliveTimeout),
    replayed: (answer, req, bytes, startedAt) => feed.replayed(answer, req.method, loggedPath(req.url), bytes, Date.now() - startedAt),
    handOff: toHttp,
  };
  const serveJs = (socket: Socket, unread?: Buffer): void => {
    held.add(socket);
    socket.once('close', () => {
      held.delete(socket);
      balance.closed();
    });
    serveRaw(socket, deps, unread);
  };
  const native = startMainNative({ deps, feed, loads, balance, toHttp, serveJs });
  const serve = (socket: Socket): void => (native === undefined ? serveJs(socket) : native.serve(socket));
  http.off('connection', nodeListener);
  http.on('connection', (socket: Socket) => {
    const to = balance.place();
    if (to === 0) return serve(socket);
    if (pass(to, socket)) return;
    balance.closed(to);
    balance.adopted();
    serve(socket);
  });
  return {
    toHttp(socket, unread) {
      balance.adopted();
      socket.once('close', () => balance.closed());
      toHttp(socket, unread);
    },
    serve,
    passWith(given) {
      pass = given;
    },
    close() {
      native?.stop();
      for (const socket of held) {
        socket.pause();
        socket.end();
      }
    },
    drained: () => native?.drained() ?? Promise.resolve(),
  };
}
