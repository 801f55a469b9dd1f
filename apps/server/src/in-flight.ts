/**
 * What a graceful close waits for and counts: the connections node:http serves, and the
 * requests its handler is still answering.
 *
 * node:http keeps its own list of connections (what `closeAllConnections` cuts) but tells
 * nobody its size, and `server.getConnections()` counts only the sockets the listener accepted
 * and still holds — not those the main thread's raw front detaches into its replay loop and
 * gives back, nor those the front threads hand over (front/): on the server as shipped it said
 * 0 while it cut a pull. So the connections are counted where every one of them enters
 * node:http: its connection listener.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/**
 * The connections node:http serves on `server`, while they are open. Call it before anything
 * else takes node's connection listener (front/main-front.ts calls the first one it finds for
 * every connection it gives node:http): the counting one takes its place.
 */
export function trackConnections(server: Server): ReadonlySet<Socket> {
  const open = new Set<Socket>();
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };
  // HTTPS: node:http sees a connection once its handshake is done (no front runs there).
  if (server instanceof TlsServer) {
    server.on('secureConnection', track);
    return open;
  }
  const [nodeListener] = server.listeners('connection') as Array<(this: Server, socket: Socket) => void>;
  if (nodeListener === undefined) throw new Error('in-flight: the server has no connection listener');
  server.off('connection', nodeListener);
  server.prependListener('connection', function counted(this: Server, socket: Socket) {
    track(socket);
    nodeListener.call(this, socket);
  });
  return open;
}

/** How many of `sets`' sockets are open (one being destroyed may not have emitted 'close' yet: not counted). */
export function countOpen(sets: ReadonlyArray<ReadonlySet<Socket>>): number {
  let count = 0;
  for (const open of sets) for (const socket of open) if (!socket.destroyed) count++;
  return count;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface Handlers {
  /** `handler`, with each call counted until its promise settles. */
  wrap(handler: Handler): Handler;
  /** Resolves once every call running now has returned, or after `ms`, whichever comes first. */
  settled(ms: number): Promise<void>;
}

export function trackHandlers(): Handlers {
  // A count, and whoever waits for it to reach 0: one promise reaction per request, hot replays
  // included (their handler's promise is settled already), and nothing kept per request.
  let running = 0;
  const waiting = new Set<() => void>();
  const finish = (): void => {
    running -= 1;
    if (running > 0) return;
    for (const wake of waiting) wake();
    waiting.clear();
  };
  return {
    wrap: (handler) => (req, res) => {
      const call = handler(req, res);
      running += 1;
      // Counted apart from `call`, so that a rejection reaches the caller as before.
      call.then(finish, finish);
      return call;
    },
    async settled(ms) {
      if (running === 0) return;
      let timer: NodeJS.Timeout | undefined;
      let wake: (() => void) | undefined;
      const idle = new Promise<void>((resolve) => waiting.add((wake = resolve)));
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
      await Promise.race([idle, late]);
      clearTimeout(timer);
      if (wake !== undefined) waiting.delete(wake);
    },
  };
}
