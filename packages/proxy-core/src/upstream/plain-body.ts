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
}

export function createBodyReader({ socket, pool, head, idleMs, buffer, done }: BodyReaderArgs): BodyReader {
  const { framing } = head;
  const chunked = framing.kind === 'chunked' ? createChunkedDecoder() : undefined;
  const lends = head.statusCode >= 200 && head.statusCode < 300 && chunked === undefined;
  let received = 0;
  let finished = false;
  /** The readable asked for more (its read()) and no push has said "full" since. */
  let wanted = true;

  const close = (): void => {
    finished = true;
    done();
    socket.destroy();
  };
  const finish = (error?: unknown): void => {
    if (finished) return;
    close();
    if (error === undefined) readable.push(null);
    else readable.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  const wake = (): void => {
    if (finished || !wanted || pool.overdrawn()) return;
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
  pool.onRestored(wake);
  socket.setTimeout(idleMs, () => finish(new PlainGetTimeoutError('body')));

  /** The body's bytes in `chunk` (views into it), and whether the body is complete after them. */
  function frame(chunk: Buffer): { pieces: Buffer[]; complete: boolean } {
    if (framing.kind !== 'length') {
      if (chunked === undefined) return { pieces: [chunk], complete: false };
      return { pieces: chunked.feed(chunk), complete: chunked.done() };
    }
    const piece = chunk.subarray(0, Math.max(0, framing.length - received));
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
    if (framed.complete) finish();
    if (more && !pool.overdrawn()) return true;
    // Paused: no idle clock while the reader, not the upstream, is the one waiting.
    socket.setTimeout(0);
    socket.pause();
    return false;
  }

  function ended(): void {
    if (framing.kind === 'close') finish();
    else if (framing.kind === 'length' && received < framing.length) finish(new PlainGetProtocolError(`upstream closed the connection after ${received} of ${framing.length} body bytes`));
    else if (chunked !== undefined && !chunked.done()) finish(new PlainGetProtocolError('upstream closed the connection inside a chunked body'));
  }

  return { readable, lends, push, ended, fail: finish };
}
