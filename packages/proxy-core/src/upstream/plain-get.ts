/**
 * A GET over plain HTTP whose body is read into a chunk pool (chunk-pool.ts) instead of through
 * undici. Only blob fills from `http://` upstreams use it: there the upstream is near (a LAN or
 * loopback mirror) and the body's bytes cost more to receive than to fetch. Measured on a
 * 2-core machine, a 256 MiB fill costs the JavaScript thread ≈ 0.35 s of CPU this way against
 * ≈ 0.55 s through undici (its per-64-KiB buffers, stream hops and the collections they need),
 * and 16 clients following a cold fill finish ≈ 20 % sooner.
 *
 *   connect ─ write request ─ head (copied out of the pool, ≤ 64 KiB) ─ body chunks, lent
 *                                                                        ↓
 *   socket paused while the body's buffer is full or the pool is overdrawn; resumed by
 *   read() and by releases
 *
 * The connection is kept alive (plain-connections.ts) when the response is read to its exact
 * end, and is closed otherwise. What it does not read — transfer codings
 * other than chunked, interim 1xx responses — it reports as PlainGetUnsupportedError before any
 * body byte is handed out, and the client asks again through undici. The body itself is
 * plain-body.ts.
 *
 * A 2xx body framed by Content-Length is offered whole to another reader (`handOff`): Node reads
 * nothing past the head's first read until the fill either takes the socket for its native
 * receive loop (fill/native-receive.ts: no JavaScript per chunk at all) or declines.
 */
import type { Readable } from 'node:stream';
import { socketFd } from '@regcache/sendfile';
import { createChunkPool } from './chunk-pool.js';
import { createBodyReader, PlainGetTimeoutError, type BodyReader } from './plain-body.js';
import type { PlainConnection, PlainConnections } from './plain-connections.js';
import { createHeadCollector, PlainGetProtocolError, requestText } from './plain-head.js';

export interface PlainGetOptions {
  url: URL;
  headers: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  timeouts: { connect: number; headers: number; body: number };
  /** The upstream client's kept-alive connections. */
  connections: PlainConnections;
}

export interface PlainResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Readable & { dump(): Promise<void> };
  /**
   * Set for a 2xx body: its chunks are lent from the pool — each stays valid only until it is
   * handed back here, and a consumer that keeps bytes longer copies them. Other bodies are copies.
   */
  release?: (chunk: Buffer) => void;
  /** Set for a 2xx body framed by Content-Length: see BodyHandOff. */
  handOff?: BodyHandOff;
}

/**
 * A body that another reader may take over. Node reads nothing of it beyond the first read
 * (which held the head) until one of these is called: the consumer either takes the socket
 * or declines, and then reads `body` as usual.
 */
export interface BodyHandOff {
  /** The rest of the body, handed over; undefined if it can no longer be (then read `body`). */
  take(): HandedBody | undefined;
  decline(): void;
}

/**
 * The rest of a body, handed to a reader outside Node (the fill's native receive loop): Node no
 * longer reads the socket. Exactly one of `takeBack` (the reader stopped early and Node reads
 * on, into `body`), `finished` (it read the body to its end) and `close` (it failed: the
 * connection is closed) ends the hand-off.
 */
export interface HandedBody {
  fd: number;
  /** Body bytes Node had already read: the first `prefix.length` bytes of the body (valid until takeBack). */
  prefix: Buffer;
  /** Body bytes still in the socket. */
  remaining: number;
  /**
   * The upstream's `timeouts.body`: the longest the rest may stall. The reader outside Node
   * keeps this clock now — Node's (the socket's idle timeout) stopped with the hand-over.
   */
  idleMs: number;
  takeBack(consumed: number): void;
  /** The reader took all `remaining` bytes: the body is complete, and its connection may serve another request. */
  finished(): void;
  close(): void;
}

/** 4 MiB per fill: the body's buffer (1 MiB), the fill's write queue and a batch being written. */
const POOL = { slabs: 4, slabBytes: 1024 * 1024 };
const BODY_BUFFER = POOL.slabBytes;

export function plainGet(opts: PlainGetOptions): Promise<PlainResponse> {
  if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
  let request: string;
  try {
    // Throws (so rejects) before any connection when a header value cannot be sent.
    request = requestText(opts.url, opts.headers);
  } catch (error) {
    return Promise.reject(error);
  }
  const conn = opts.connections.acquire(opts.url);
  if (!conn.reused) return exchange(opts, request, conn);
  return exchange(opts, request, conn).catch((error: unknown) => {
    // The upstream closed the kept-alive connection as the request went out: once more, anew.
    if (!(error instanceof StaleConnectionError)) throw error;
    return exchange(opts, request, opts.connections.acquire(opts.url, { fresh: true }));
  });
}

/** A reused connection ended before any byte of the response: the request may not have been read. */
class StaleConnectionError extends Error {
  override readonly name = 'StaleConnectionError';
}

/** One request and its response head on `conn`; the body follows as the response's readable. */
function exchange({ signal, timeouts }: PlainGetOptions, request: string, conn: PlainConnection): Promise<PlainResponse> {
  const { socket } = conn;
  return new Promise((resolve, reject) => {
    const pool = createChunkPool(POOL);
    const collectHead = createHeadCollector();
    let body: BodyReader | undefined;
    let heard = false;
    const fail = (error: unknown): void => {
      conn.destroy();
      if (body !== undefined) body.fail(error);
      else if (heard || !conn.reused || error instanceof PlainGetTimeoutError || signal?.aborted === true) reject(error);
      else reject(new StaleConnectionError('the kept-alive connection ended before a response', { cause: error }));
    };
    const onAbort = (): void => fail(signal?.reason);
    const ended = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    let timer = setTimeout(() => fail(new PlainGetTimeoutError('connect')), timeouts.connect);
    conn.use({
      buffer: () => pool.next(),
      read: (n) => {
        heard = true;
        const chunk = pool.take(n);
        if (body !== undefined) return body.push(chunk);
        const copy = Buffer.from(chunk);
        pool.release(chunk);
        onHeadBytes(copy);
        return true;
      },
      end: () => body?.ended(),
      error: fail,
      close: () => {
        ended();
        if (body === undefined) fail(new PlainGetProtocolError('upstream closed the connection before a response'));
        else body.ended();
      },
    });
    const onHeadBytes = (bytes: Buffer): void => {
      let got;
      try {
        got = collectHead(bytes);
      } catch (error) {
        fail(error);
        return;
      }
      if (got === undefined) return;
      clearTimeout(timer);
      body = createBodyReader({ socket, pool, head: got.head, idleMs: timeouts.body, buffer: BODY_BUFFER, done: ended, reuse: conn.release });
      const reader = body;
      const handOff: BodyHandOff = {
        take() {
          const fd = socketFd(socket);
          const handed = fd === undefined ? undefined : reader.handOff();
          if (fd === undefined || handed === undefined) {
            reader.unpark();
            return undefined;
          }
          return { fd, ...handed, idleMs: timeouts.body, takeBack: reader.takeBack, finished: () => reader.takeBack(handed.remaining), close: () => conn.destroy() };
        },
        decline: reader.unpark,
      };
      const offered = body.lends && got.head.framing.kind === 'length';
      resolve({ statusCode: got.head.statusCode, headers: got.head.headers, body: body.readable, release: body.lends ? pool.release : undefined, handOff: offered ? handOff : undefined });
      body.push(got.rest);
      if (offered) body.park();
    };
    conn.whenConnected(() => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new PlainGetTimeoutError('headers')), timeouts.headers);
      socket.write(request);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
