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
 * The connection is not reused (`Connection: close`). What it does not read — transfer codings
 * other than chunked, interim 1xx responses — it reports as PlainGetUnsupportedError before any
 * body byte is handed out, and the client asks again through undici. The body itself is
 * plain-body.ts.
 *
 * A 2xx body framed by Content-Length is offered whole to another reader (`handOff`): Node reads
 * nothing past the head's first read until the fill either takes the socket for its native
 * receive loop (fill/native-receive.ts: no JavaScript per chunk at all) or declines.
 */
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { socketFd } from '@regcache/sendfile';
import { createChunkPool } from './chunk-pool.js';
import { createBodyReader, PlainGetTimeoutError, type BodyReader } from './plain-body.js';
import { createHeadCollector, PlainGetProtocolError, requestText } from './plain-head.js';

export interface PlainGetOptions {
  url: URL;
  headers: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  timeouts: { connect: number; headers: number; body: number };
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
 * on, into `body`) and `close` (done with the connection) ends the hand-off.
 */
export interface HandedBody {
  fd: number;
  /** Body bytes Node had already read: the first `prefix.length` bytes of the body (valid until takeBack). */
  prefix: Buffer;
  /** Body bytes still in the socket. */
  remaining: number;
  takeBack(consumed: number): void;
  close(): void;
}

/** 4 MiB per fill: the body's buffer (1 MiB), the fill's write queue and a batch being written. */
const POOL = { slabs: 4, slabBytes: 1024 * 1024 };
const BODY_BUFFER = POOL.slabBytes;

export function plainGet(opts: PlainGetOptions): Promise<PlainResponse> {
  const { url, signal, timeouts } = opts;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    // Throws (so rejects) before any connection when a header value cannot be sent.
    const request = requestText(url, opts.headers);
    const pool = createChunkPool(POOL);
    const collectHead = createHeadCollector();
    let body: BodyReader | undefined;
    const fail = (error: unknown): void => {
      socket.destroy();
      if (body === undefined) reject(error);
      else body.fail(error);
    };
    const onAbort = (): void => fail(signal?.reason);
    let timer = setTimeout(() => fail(new PlainGetTimeoutError('connect')), timeouts.connect);
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: {
        buffer: () => pool.next(),
        callback: (n: number): boolean => {
          const chunk = pool.take(n);
          if (body !== undefined) return body.push(chunk);
          const copy = Buffer.from(chunk);
          pool.release(chunk);
          onHeadBytes(copy);
          return true;
        },
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
      body = createBodyReader({ socket, pool, head: got.head, idleMs: timeouts.body, buffer: BODY_BUFFER, done: () => signal?.removeEventListener('abort', onAbort) });
      const reader = body;
      const handOff: BodyHandOff = {
        take() {
          const fd = socketFd(socket);
          const handed = fd === undefined ? undefined : reader.handOff();
          if (fd === undefined || handed === undefined) {
            reader.unpark();
            return undefined;
          }
          return { fd, ...handed, takeBack: reader.takeBack, close: () => void socket.destroy() };
        },
        decline: reader.unpark,
      };
      const offered = body.lends && got.head.framing.kind === 'length';
      resolve({ statusCode: got.head.statusCode, headers: got.head.headers, body: body.readable, release: body.lends ? pool.release : undefined, handOff: offered ? handOff : undefined });
      body.push(got.rest);
      if (offered) body.park();
    };
    socket.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new PlainGetTimeoutError('headers')), timeouts.headers);
      socket.setNoDelay(true);
      socket.write(request);
    });
    socket.on('error', fail);
    socket.once('end', () => body?.ended());
    socket.once('close', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (body === undefined) reject(new PlainGetProtocolError('upstream closed the connection before a response'));
      else body.ended();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
