/**
 * Kept-alive connections to http:// upstreams, for plain-get.ts: one upstream client's own set
 * (an instance, never module state). A fill from a LAN or loopback mirror used to open a TCP
 * connection per blob and close it; the upstream then paid an accept per blob, and this host
 * kept a TIME_WAIT socket per blob for a minute (a busy cache runs out of ephemeral ports that
 * way). Now a connection whose response was read to its exact end goes back here and serves the
 * next request to the same host and port.
 *
 *   acquire(url) ─▶ an idle connection to url's host:port? ─ yes ─▶ reused (no connect)
 *                                                          └ no ──▶ a new one (connecting)
 *   exchange owns it: reads go to its sink (use) ─▶ release(): idle again ─ or ─ destroy()
 *
 *   idle: unref'd, reading into a scratch buffer — a byte, an EOF or an error from the upstream
 *   closes it (nothing may arrive between responses); closed after `idleMs` unused, and beyond
 *   `maxIdle` per host:port.
 *
 * An upstream may close an idle connection just as a request is written on it; plain-get.ts
 * asks once more on a new connection when a reused one ends before any byte of a response
 * (a GET is safe to repeat).
 */
import { connect, type Socket } from 'node:net';

export interface PlainConnectionsOptions {
  /** Closed after this long unused: shorter than the keep-alive timeouts of registries and their fronts (nginx's 75 s). */
  idleMs?: number;
  /** Idle connections kept per host and port; more are closed as they come back. */
  maxIdle?: number;
  /** Told of each connection handed out: a new one, or a kept-alive one reused (for metrics). */
  onAcquire?: (reused: boolean) => void;
}

/** Where an exchange's reads go (net's `onread`), and what it hears of the connection's end. */
export interface ConnectionSink {
  buffer(): Buffer;
  /** `n` bytes landed at the start of the last buffer(); false pauses the socket. */
  read(n: number): boolean;
  end(): void;
  close(): void;
  error(error: Error): void;
}

export interface PlainConnection {
  readonly socket: Socket;
  /** It served an earlier response (so it may have been closed by the upstream meanwhile). */
  readonly reused: boolean;
  /** Calls `then` once connected: at once for a reused connection. */
  whenConnected(then: () => void): void;
  use(sink: ConnectionSink): void;
  /** The response was read to its exact end: the connection may serve another request. */
  release(): void;
  destroy(): void;
}

export interface PlainConnections {
  /** A connection to url's host and port: an idle one unless `fresh`. */
  acquire(url: URL, opts?: { fresh?: boolean }): PlainConnection;
  /** Idle connections now (for tests and stats). */
  idle(): number;
  /** Closes the idle connections; later releases close theirs. */
  close(): void;
}

/** Bytes that landed in a buffer not `sink`'s (the first read of an exchange): copied into its own. */
function handOver(sink: ConnectionSink, bytes: Buffer): boolean {
  let more = true;
  for (let at = 0; at < bytes.length; ) {
    const target = sink.buffer();
    const n = bytes.copy(target, 0, at);
    more = sink.read(n);
    at += n;
  }
  return more;
}

/** What the idle list holds: a connection that can be woken for its next exchange. */
interface Pooled extends PlainConnection {
  wake(): void;
}

export function createPlainConnections({ idleMs = 4000, maxIdle = 16, onAcquire }: PlainConnectionsOptions = {}): PlainConnections {
  const idleByHost = new Map<string, Pooled[]>();
  /**
   * Where an idle connection reads (net asks for the next read's buffer after each read, so the
   * first response on a reused connection lands here too and is copied out: room for its head).
   */
  const scratch = Buffer.alloc(64 * 1024);
  let closed = false;

  function forget(host: string, conn: Pooled): void {
    const list = idleByHost.get(host);
    const at = list?.indexOf(conn) ?? -1;
    if (list === undefined || at < 0) return;
    list.splice(at, 1);
    if (list.length === 0) idleByHost.delete(host);
  }

  function open(url: URL, host: string): Pooled {
    let sink: ConnectionSink | undefined;
    /** Whose buffer the next read lands in: net asks for it after each read, so it can be a sink's that has gone. */
    let givenTo: ConnectionSink | undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    let reused = false;
    const dropIdle = (): void => {
      clearTimeout(idleTimer);
      forget(host, conn);
      socket.destroy();
    };
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: {
        buffer: () => {
          givenTo = sink;
          return sink?.buffer() ?? scratch;
        },
        callback: (n: number, buf: Buffer): boolean => {
          if (sink === undefined) {
            dropIdle();
            return false;
          }
          return givenTo === sink ? sink.read(n) : handOver(sink, buf.subarray(0, n));
        },
      },
    });
    socket.once('connect', () => socket.setNoDelay(true));
    // An idle connection's EOF is followed by its 'close' (allowHalfOpen is off), which drops it.
    socket.on('end', () => sink?.end());
    socket.on('error', (error) => (sink === undefined ? dropIdle() : sink.error(error)));
    socket.on('close', () => (sink === undefined ? dropIdle() : sink.close()));

    const conn: Pooled = {
      socket,
      get reused() {
        return reused;
      },
      whenConnected(then) {
        if (socket.connecting) socket.once('connect', then);
        else then();
      },
      use(next) {
        sink = next;
      },
      release() {
        sink = undefined;
        socket.setTimeout(0);
        socket.removeAllListeners('timeout');
        const list = idleByHost.get(host) ?? [];
        if (closed || socket.destroyed || list.length >= maxIdle) {
          socket.destroy();
          return;
        }
        reused = true;
        list.push(conn);
        idleByHost.set(host, list);
        socket.unref();
        socket.resume();
        idleTimer = setTimeout(dropIdle, idleMs);
        idleTimer.unref();
      },
      destroy() {
        // The sink still hears the close: the exchange it belongs to ends on it.
        socket.destroy();
      },
      wake() {
        clearTimeout(idleTimer);
        socket.ref();
      },
    };
    return conn;
  }

  return {
    acquire(url, { fresh = false } = {}) {
      const host = `${url.hostname}:${url.port || 80}`;
      const idle = fresh ? undefined : idleByHost.get(host)?.at(-1);
      onAcquire?.(idle !== undefined);
      if (idle === undefined) return open(url, host);
      forget(host, idle);
      idle.wake();
      return idle;
    },
    idle: () => [...idleByHost.values()].reduce((n, list) => n + list.length, 0),
    close() {
      closed = true;
      for (const list of [...idleByHost.values()]) for (const conn of [...list]) conn.destroy();
      idleByHost.clear();
    },
  };
}
