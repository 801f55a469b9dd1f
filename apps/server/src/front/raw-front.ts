/**
 * A front thread's connection, read without node:http: each complete plain request head in a
 * read (raw-head.ts) that the hot table can answer gets its prepared bytes in one write; at
 * the first request it cannot answer — unusual, not hot, or a head that has not fully arrived —
 * the connection goes to the main thread with every byte from that request on (`handOff`),
 * which node:http there reads as if it had read them itself. So pipelined requests and request
 * bodies travel with the connection, and every limit node:http enforces (headersTimeout on a
 * slow head, bodies, CONNECT, oversized heads) is enforced there.
 *
 * Here: a connection that sends nothing within `headersTimeout` of its accept, or nothing for
 * `keepAliveTimeout` after an answer, is closed, as node:http does.
 */
import type { Socket } from 'node:net';
import type { HotAnswer } from '@regcache/proxy-core/front';
import type { HeadReader, RawRequest } from './raw-head.js';

export interface RawFrontDeps {
  readonly headersTimeout: number;
  readonly keepAliveTimeout: number;
  /** This thread's reader of request heads (raw-head.ts createHeadReader). */
  readHead: HeadReader;
  lookup(req: RawRequest): HotAnswer | undefined;
  /** The bytes to write for `answer` (raw-head.ts createReplayBytes). */
  bytesOf(answer: HotAnswer, req: RawRequest, now: number): Buffer;
  /** Counts (and logs) one replay of `bytes` body bytes. */
  replayed(answer: HotAnswer, req: RawRequest, bytes: number, startedAt: number): void;
  /** Gives the connection to the main thread with `unread` to be parsed first; closes this thread's socket. */
  handOff(socket: Socket, unread: Buffer): void;
}

/** Serves `socket`; `unread`: bytes already read from it (a replay loop's miss, native-front.ts), answered first. */
export function serveRaw(socket: Socket, deps: RawFrontDeps, unread?: Buffer): void {
  socket.setNoDelay(true);
  // Set once each: the socket restarts its timer itself on every read and write.
  let idle = false;
  socket.setTimeout(deps.headersTimeout);
  const close = (): void => void socket.destroy();
  socket.on('timeout', close);
  socket.on('error', close);
  const onData = (chunk: Buffer): void => {
    const now = Date.now();
    let at = 0;
    let full = false;
    while (at < chunk.length) {
      const req = deps.readHead(chunk, at);
      const answer = typeof req === 'string' ? undefined : deps.lookup(req);
      if (typeof req === 'string' || answer === undefined) {
        // Its limits and error handling are the next owner's from here on (a slow download must not be cut by ours).
        socket.off('data', onData).off('timeout', close).off('error', close).setTimeout(0);
        return leave(socket, chunk.subarray(at), deps);
      }
      const bytes = deps.bytesOf(answer, req, now);
      deps.replayed(answer, req, req.method === 'HEAD' ? 0 : answer.body.length, now);
      if (req.close) {
        socket.off('data', onData);
        socket.end(bytes);
        return;
      }
      full = !socket.write(bytes);
      at = req.end;
    }
    if (!idle) {
      idle = true;
      socket.setTimeout(deps.keepAliveTimeout);
    }
    // A client that sends faster than it reads: read no more until it has taken what it asked for.
    if (full) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  };
  socket.on('data', onData);
  if (unread !== undefined && unread.length > 0) onData(unread);
}

/** Hands over once what this thread wrote has left: the main thread's answers must come after it. */
function leave(socket: Socket, unread: Buffer, deps: RawFrontDeps): void {
  socket.pause();
  // `unread` may be a view of a pooled read buffer: a copy travels.
  const copy = Buffer.from(unread);
  if (socket.writableLength === 0) return deps.handOff(socket, copy);
  // Paused, a socket still reads into its stream buffer until that is full; those bytes travel too.
  const fail = (): void => void socket.destroy();
  socket.on('error', fail);
  socket.once('drain', () => {
    socket.off('error', fail);
    const more: unknown = socket.read();
    deps.handOff(socket, Buffer.isBuffer(more) ? Buffer.concat([copy, more]) : copy);
  });
}
