/**
 * The body of a plain-get.ts response as a Readable: framed as its head says (Content-Length,
 * chunked, or the end of the connection), with backpressure both ways — the socket pauses
 * while the readable's buffer is full or the chunk pool is overdrawn, and resumes when the
 * readable asks for more and the pool has room. A 2xx body framed by length or connection
 * lends the pool's chunks (the consumer hands each back); any other body is copied out.
 */
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { ChunkPool } from './chunk-pool.js';
import { createChunkedDecoder } from './chunked.js';
import { PlainGetProtocolError, type PlainHead } from './plain-head.js';

export class PlainGetTimeoutError extends Error {
  override readonly name = 'PlainGetTimeoutError';
  constructor(readonly phase: 'connect' | 'headers' | 'body') {
    super(`upstream ${phase} timeout`);
  }
}

export interface BodyReader {
  readable: Readable & { dump(): Promise<void> };
  /** Whether chunks are lent (see above) or copied. */
  lends: boolean;
  /** A chunk from the socket (taken from the pool); false asks the socket to pause. */
  push(chunk: Buffer): boolean;
  /** The connection ended: complete for a close-delimited body, cut short otherwise. */
  ended(): void;
  fail(error: unknown): void;
  /**
   * Stops Node's reads of the socket and hands the rest of a lent, length-framed body to another
   * reader (the fill's native receive loop): what the readable holds comes back as `prefix`
   * (lent from the pool until takeBack), `remaining` bytes are still in the socket. Undefined when the body is not such a
   * body, is finished, or its readable has been read from.
   */
  handOff(): { prefix: Buffer; remaining: number } | undefined;
  /**
   * Reads nothing more from the socket until unpark(), handOff() or a consumer's first 'data' or
   * 'readable' listener: a body that may be handed off is not read ahead into the readable's
   * buffer only to be copied out of it.
   */
  park(): void;
  unpark(): void;
  /**
   * The other reader took `consumed` more bytes of the body off the socket and stopped: Node's
   * reads resume from there, into the readable (a fill whose disk failed goes on in memory).
   */
  takeBack(consumed: number): void;
}

export interface BodyReaderArgs {
  socket: Socket;
  pool: ChunkPool;
  head: PlainHead;
  /** No byte from the upstream for this long (while nobody is waiting on us): the body fails. */
  idleMs: number;
  /** The readable's buffer (its highWaterMark). */
  buffer: number;
  /** Called once, when the body is complete, failed or destroyed. */
  done: () => void;
  /**
   * Called instead of destroying the socket when a persistent response's body ended exactly at
   * its Content-Length: the connection may serve another request (plain-connections.ts).
   */
  reuse: () => void;
}

export function createBodyReader({ socket, pool, head, idleMs, buffer, done, reuse }: BodyReaderArgs): BodyReader {
  const { framing } = head;
  const chunked = framing.kind === 'chunked' ? createChunkedDecoder() : undefined;
  const lends = head.statusCode >= 200 && head.statusCode < 300 && chunked === undefined;
  let received = 0;
  let finished = false;
  /** The readable asked for more (its read()) and no push has said "full" since. */
  let wanted = true;
  /** The socket is another reader's (handOff) until takeBack. */
  let handed = false;
  /** park() until unpark(): the readable's reads wait (Readable reads ahead by itself). */
  let parked = false;
  /** The upstream sent bytes past the body's end: the connection cannot be trusted again. */
  let overran = false;

  const close = (reusable = false): void => {
    finished = true;
    done();
    if (reusable) reuse();
    else socket.destroy();
  };
  const finish = (error?: unknown): void => {
    if (finished) return;
    close(error === undefined && head.persistent && framing.kind === 'length' && received === framing.length && !overran);
    if (error === undefined) readable.push(null);
    else readable.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  const wake = (): void => {
    if (finished || handed || parked || !wanted || pool.overdrawn()) return;
    socket.setTimeout(idleMs);
    socket.resume();
  };
  const readable = Object.assign(
    new Readable({
      highWaterMark: buffer,
      read() {
        wanted = true;
        wake();
      },
      destroy(error, callback) {
        if (!finished) close();
        callback(error);
      },
    }),
    { dump: async (): Promise<void> => void readable.destroy() },
  );
  // A failure before the consumer attaches (the fill is still opening its temp file) must not
  // be an uncaught 'error': pipeline and iteration still see it in the stream's errored state.
  readable.on('error', () => undefined);
  // A consumer that starts reading the body (a 'data' or 'readable' listener: pipeline, iteration)
  // ends a park() — only the readable's own read-ahead waits.
  readable.on('newListener', (event) => {
    if (event === 'data' || event === 'readable') unpark();
  });
  pool.onRestored(wake);
  socket.setTimeout(idleMs, () => finish(new PlainGetTimeoutError('body')));

  /** The body's bytes in `chunk` (views into it), and whether the body is complete after them. */
  function frame(chunk: Buffer): { pieces: Buffer[]; complete: boolean } {
    if (framing.kind !== 'length') {
      if (chunked === undefined) return { pieces: [chunk], complete: false };
      return { pieces: chunked.feed(chunk), complete: chunked.done() };
    }
    const piece = chunk.subarray(0, Math.max(0, framing.length - received));
    overran ||= piece.length < chunk.length;
    return { pieces: [piece], complete: received + piece.length >= framing.length };
  }

  function push(chunk: Buffer): boolean {
    if (finished) {
      pool.release(chunk);
      return false;
    }
    let framed;
    try {
      framed = frame(chunk);
    } catch (error) {
      pool.release(chunk);
      finish(error);
      return false;
    }
    let more = true;
    let lent = false;
    for (const piece of framed.pieces) {
      if (piece.length === 0) continue;
      received += piece.length;
      lent = lends;
      more = wanted = readable.push(lends ? piece : Buffer.from(piece));
    }
    if (!lent) pool.release(chunk);
    if (framed.complete) {
      finish();
      // Keep reading: a reused connection reads, while idle, only to notice the upstream closing it.
      return true;
    }
    if (more && !pool.overdrawn()) return true;
    // Paused: no idle clock while the reader, not the upstream, is the one waiting.
    socket.setTimeout(0);
    socket.pause();
    return false;
  }

  function handOff(): { prefix: Buffer; remaining: number } | undefined {
    if (finished || handed || !lends || framing.kind !== 'length' || readable.readableDidRead) return undefined;
    handed = true;
    parked = false;
    socket.setTimeout(0);
    socket.pause();
    // The pieces are lent from the pool, which is not read into again before takeBack(): the
    // other reader has written them by then.
    const pieces: Buffer[] = [];
    for (let piece = readable.read() as Buffer | null; piece !== null; piece = readable.read() as Buffer | null) pieces.push(piece);
    return { prefix: pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces), remaining: framing.length - received };
  }

  function park(): void {
    if (finished || readable.readableDidRead) return;
    parked = true;
    socket.pause();
  }

  function unpark(): void {
    if (!parked) return;
    parked = false;
    wake();
  }

  function takeBack(consumed: number): void {
    if (!handed || finished) return;
    handed = false;
    received += consumed;
    if (framing.kind === 'length' && received >= framing.length) finish();
    else if (socket.destroyed) ended();
    else wake();
  }

  function ended(): void {
    if (handed) return;
    if (framing.kind === 'close') finish();
    else if (framing.kind === 'length' && received < framing.length) finish(new PlainGetProtocolError(`upstream closed the connection after ${received} of ${framing.length} body bytes`));
    else if (chunked !== undefined && !chunked.done()) finish(new PlainGetProtocolError('upstream closed the connection inside a chunked body'));
  }

  return { readable, lends, push, ended, fail: finish, handOff, takeBack, park, unpark };
}
