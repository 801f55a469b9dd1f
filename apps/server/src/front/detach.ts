/**
 * Moving a connection to another thread — a front's hand-over to node:http, and the passes that
 * spread connections (balance.ts) either way: a dup of its descriptor travels in a message, and
 * this thread's socket is destroyed at once, closing its descriptor and its epoll registration
 * before the loop reads again, so nothing the other thread is to read is read here.
 */
import type { Socket } from 'node:net';
import { socketFd, type Sendfile } from '@regcache/sendfile';

/** The dup to send, or undefined if the socket had no descriptor; the socket is destroyed either way. */
export function detachSocket(socket: Socket, addon: Pick<Sendfile, 'dup'>): number | undefined {
  const fd = socketFd(socket);
  const copy = fd === undefined ? undefined : addon.dup(fd);
  socket.destroy();
  return copy;
}
