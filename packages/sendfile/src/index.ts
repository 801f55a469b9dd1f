/**
 * sendfile(2) from a file descriptor to a Node socket, done by the addon's sender threads
 * (src/sendfile.c) instead of the JavaScript thread: bytes go page cache → socket inside the
 * kernel, and the event loop stays free for everything else.
 *
 * The caller owns the protocol: it writes the response head through Node first, waits until
 * Node has handed it to the kernel (`flushed`), and writes nothing on the socket until the
 * job settles. Jobs dup both descriptors, so the caller may close its file, and Node its
 * socket, at any time; cancel() stops a job at its next step.
 *
 * Linux only, and plain TCP only (TLS sockets encrypt in user space): `loadSendfile()` and
 * `socketFd()` return undefined where it cannot work, and the caller streams as before.
 */
import type { Server, Socket } from 'node:net';
import { errnoName, loadNative } from './native.js';

export { loadReceive, ReceiveError } from './receive.js';
export type { Receive, ReceiveArgs, ReceiveJob, Received } from './receive.js';
export { loadReplay } from './replay.js';
export type { ReplayLesson, ReplayLoop, ReplayLoopOptions, ReplayTaken, StartReplayLoop } from './replay.js';

export interface SendfileJob {
  /** Resolves with the bytes sent (fewer than asked only if the file ended); rejects with SendfileError. */
  readonly done: Promise<number>;
  /** Stop at the next step; `done` then rejects with code ECANCELED. */
  cancel(): void;
}

export interface Sendfile {
  /**
   * Send `length` bytes of `fileFd` from `offset` to `socketFd`. A client that takes nothing
   * for `stallMs` (0: never) fails the job with ETIMEDOUT.
   */
  send(socketFd: number, fileFd: number, offset: number, length: number, stallMs: number): SendfileJob;
  /**
   * A second descriptor of the same socket (or file), close-on-exec: handed to another thread,
   * it keeps the connection open after the first is closed. Throws SendfileError.
   */
  dup(fd: number): number;
  /**
   * A TCP socket's congestion control and its TCP_NOTSENT_LOWAT (0: the system's default), or
   * undefined for anything else. A send job sets the low-water mark of a bbr socket (src/sendfile.c,
   * NOTSENT_LOWAT); this tells whether it did.
   */
  tcpTuning(fd: number): { congestion: string; notsentLowat: number } | undefined;
}

export class SendfileError extends Error {
  override readonly name = 'SendfileError';
  constructor(
    readonly code: string,
    /** Bytes that reached the socket before the job stopped. */
    readonly sent: number,
  ) {
    super(`sendfile: ${code} after ${sent} bytes`);
  }
}

/** The addon, or undefined when it is not built or not supported here. */
export function loadSendfile(): Sendfile | undefined {
  const native = loadNative();
  if (native === undefined) return undefined;
  return {
    send(socketFd, fileFd, offset, length, stallMs) {
      const cancel = new Int32Array(new SharedArrayBuffer(4));
      const done = new Promise<number>((resolve, reject) => {
        native.send(socketFd, fileFd, offset, length, stallMs, cancel, (errno, sent) => {
          if (errno === 0) resolve(sent);
          else reject(new SendfileError(errnoName(errno), sent));
        });
      });
      return { done, cancel: () => void Atomics.store(cancel, 0, 1) };
    },
    dup(fd) {
      const copy = native.dup(fd);
      if (copy < 0) throw new SendfileError(errnoName(-copy), 0);
      return copy;
    },
    tcpTuning(fd) {
      const tuning = native.tcpTuning(fd);
      return tuning === undefined ? undefined : { congestion: tuning[0], notsentLowat: tuning[1] };
    },
  };
}

/**
 * The kernel descriptor of a plain TCP (or unix) socket or listening server, or undefined (TLS, not connected,
 * or a runtime that does not expose it).
 */
export function socketFd(socket: Socket | Server | null | undefined): number | undefined {
  if (socket === null || socket === undefined || 'encrypted' in socket) return undefined;
  const handle: unknown = Reflect.get(socket, '_handle');
  const fd: unknown = typeof handle === 'object' && handle !== null ? Reflect.get(handle, 'fd') : undefined;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
