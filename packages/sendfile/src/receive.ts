/**
 * A blob fill's receive loop off the JavaScript thread (src/receive.c): the addon reads the rest
 * of an upstream body from a plain TCP socket, hashes it with SHA-256 and appends it to the
 * fill's temp file on a thread of its own, and reports how many bytes are in the file as they
 * land. The JavaScript thread does nothing per chunk.
 *
 * The caller owns the protocol: it has read the response head (and maybe the first body bytes,
 * the `prefix`), stopped Node's reads of the socket for good, and does not touch the socket
 * until the job settles. The job works on dups of both descriptors.
 */
import { errnoName, loadNative } from './native.js';

/** receive.c's `enum side`: 2 the disk, 3 a cancel, anything else the upstream. */
const sideOf = (side: number): ReceiveError['side'] => (side === 2 ? 'disk' : side === 3 ? 'cancel' : 'upstream');

export interface Received {
  /** Bytes in the file: the prefix and the whole rest of the body. */
  written: number;
  /** Lowercase hex SHA-256 of those bytes. */
  sha256: string;
}

export class ReceiveError extends Error {
  override readonly name = 'ReceiveError';
  constructor(
    readonly code: string,
    /** Where it failed: the upstream (read, closed early, idle), the disk (write), or a cancel. */
    readonly side: 'upstream' | 'disk' | 'cancel',
    /** Bytes in the file before the failure (from offset 0). */
    readonly written: number,
    /** The refused piece (a failed write or hash, or the prefix if the loop could not start), not in the file: disk failures only. */
    readonly unwritten: Buffer | undefined,
  ) {
    super(`receive: ${code} (${side}) after ${written} bytes`);
  }
}

export interface ReceiveJob {
  readonly done: Promise<Received>;
  /** Stop at the next read (or within 100 ms while the socket is quiet); `done` rejects with side 'cancel'. */
  cancel(): void;
}

export interface ReceiveArgs {
  socketFd: number;
  fileFd: number;
  /** Body bytes already read from the socket: hashed and written first, at offset 0. */
  prefix: Buffer;
  /** Body bytes still in the socket after the prefix. */
  length: number;
  /** No byte from the upstream for this long fails the job (ETIMEDOUT); 0: never. */
  idleMs: number;
  /** Bytes in the file so far; called from the JavaScript thread, at least every MiB or so. */
  progress: (written: number) => void;
}

export type Receive = (args: ReceiveArgs) => ReceiveJob;

/** The receive loop, or undefined where the addon is not built or not supported. */
export function loadReceive(): Receive | undefined {
  const native = loadNative();
  if (native === undefined) return undefined;
  return ({ socketFd, fileFd, prefix, length, idleMs, progress }) => {
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const done = new Promise<Received>((resolve, reject) => {
      native.receive(socketFd, fileFd, prefix, length, idleMs, cancel, progress, (errno, side, written, sha256, unwritten) => {
        if (errno === 0) resolve({ written, sha256 });
        else reject(new ReceiveError(errnoName(errno), sideOf(side), written, unwritten));
      });
    });
    return { done, cancel: () => void Atomics.store(cancel, 0, 1) };
  };
}
