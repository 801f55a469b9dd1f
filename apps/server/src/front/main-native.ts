/**
 * The main thread's replay loop in C (native-front.ts): the connections main-front.ts places
 * with this thread are read by the loop, which credits what it replays as the front threads'
 * replays are credited (hot-feed.ts, thread 0). A connection the loop gives back becomes a
 * socket here again — node:http's (`toHttp`), or raw-front.ts's (`serveJs`) for a client that
 * keeps sending new heads — and is tracked until it closes: node's `server.close()` counts only
 * the connections it accepted itself.
 */
import { Socket } from 'node:net';
import type { HotAnswerFeed } from '@regcache/proxy-core';
import { loadSendfile } from '@regcache/sendfile';
import type { Balance } from './balance.js';
import { detachSocket } from './detach.js';
import { CREDIT_MS, startNativeFront } from './native-front.js';
import type { RawFrontDeps } from './raw-front.js';

export interface MainNativeDeps {
  readonly deps: RawFrontDeps;
  readonly feed: HotAnswerFeed;
  readonly loads: Int32Array;
  readonly balance: Balance;
  /** node:http's from now, `unread` read first. */
  toHttp(socket: Socket, unread: Buffer): void;
  /** raw-front.ts's from now (it counts the connection out of this thread when it closes). */
  serveJs(socket: Socket, unread: Buffer): void;
}

export interface MainNative {
  /** Serves a connection placed with this thread (counted to it already) in the loop. */
  serve(socket: Socket): void;
  /** Closes the loop's connections, ends it, and credits its last replays. */
  stop(): void;
  /** Resolves once every socket made here from the loop's connections has closed. */
  drained(): Promise<void>;
}

/** The main thread's loop, or undefined where the addon lacks it (main-front.ts then serves in JavaScript). */
export function startMainNative(m: MainNativeDeps): MainNative | undefined {
  const addon = loadSendfile();
  const sockets = new Set<Socket>();
  const socketFor = (fd: number): Socket => {
    const socket = new Socket({ fd, readable: true, writable: true });
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  const { feed } = m;
  const front = addon === undefined ? undefined : startNativeFront({
    ...m.deps,
    generation: feed.generation,
    loads: m.loads,
    index: 0,
    recording: feed.logsRequests,
    toHttp(fd, unread) {
      const socket = socketFor(fd);
      socket.once('close', () => m.balance.closed());
      m.toHttp(socket, unread);
    },
    serveInJs: (fd, unread) => m.serveJs(socketFor(fd), unread),
  });
  if (addon === undefined || front === undefined) return undefined;
  const credit = (): void => {
    const taken = front.take();
    if (taken !== undefined) feed.credit(taken.credits, taken.records, 0);
  };
  const timer = setInterval(credit, CREDIT_MS);
  timer.unref();
  return {
    serve(socket) {
      const fd = detachSocket(socket, addon);
      if (fd === undefined) m.balance.closed();
      else front.serve(fd);
    },
    stop() {
      clearInterval(timer);
      front.stop();
      credit();
    },
    drained: () => Promise.all([...sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)))).then(() => undefined),
  };
}
