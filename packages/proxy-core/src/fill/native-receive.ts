/**
 * A fill's body received off the JavaScript thread: when the upstream's body is a plain-http,
 * length-framed one (upstream/plain-get.ts hands its socket over) and the addon is built,
 * @regcache/sendfile's receive loop reads it, hashes it and appends it to the writer's temp file
 * on a thread of its own. The JavaScript thread only hears, every MiB or so, how far the file
 * has grown — it wakes the followers then — and, at the end, the digest, which the writer checks
 * exactly as if it had hashed the bytes itself (blob-store writer.ts, external()).
 *
 * Why: a cold pull on two shared cores is slowed by every CPU cycle the cache spends. Through the
 * stream path each socket read was a callback, a stream hop, a hash call, a write handed to the
 * libuv pool and its promise — about a third of regcache's CPU in a cold 20-layer skopeo pull.
 *
 *   handOff() ─▶ receive(socket, temp file, prefix, remaining)
 *                  progress(written) ──▶ writer.advance, wake followers
 *                  done(sha256)      ──▶ writer.end → verify/commit as before
 *                  disk error        ──▶ takeBack: Node reads the socket again, and the fill
 *                                        goes on in memory (pass-through) for its clients
 */
import { loadReceive, ReceiveError, type Receive } from '@regcache/sendfile';
import type { ExternalAppend } from '@regcache/blob-store';
import type { HandedBody } from '../upstream/plain-get.js';

/** Loaded once per process, like send-file.ts's sendfile; REGCACHE_NATIVE_RECEIVE=0 turns it off. */
const receive: Receive | undefined = process.env.REGCACHE_NATIVE_RECEIVE === '0' ? undefined : loadReceive();

export interface NativeReceiveArgs {
  handed: HandedBody;
  external: ExternalAppend;
  idleMs: number;
  signal: AbortSignal;
  /** More bytes are in the file. */
  grew: () => void;
}

/** The disk refused a write: `written` bytes are in the file (and the writer's count), `unwritten` came after them, and Node now reads the socket. */
export class NativeDiskError extends Error {
  override readonly name = 'NativeDiskError';
  constructor(
    readonly written: number,
    readonly unwritten: Buffer,
    readonly code: string,
  ) {
    super(`disk write failed (${code}) after ${written} bytes`);
  }
}

/** Upstream-side failures of the loop, as the stream path would have reported them. */
export class NativeReceiveError extends Error {
  override readonly name = 'NativeReceiveError';
  constructor(
    readonly code: string,
    readonly written: number,
  ) {
    super(code === 'EPIPE' ? `upstream closed the connection after ${written} body bytes` : `upstream body: ${code} after ${written} bytes`);
  }
}

export function nativeReceiveAvailable(): boolean {
  return receive !== undefined;
}

/**
 * Runs the loop to the end of the body. Rejects with the signal's reason when the fill is
 * stopped, NativeDiskError on a disk failure (the socket is back with Node), and
 * NativeReceiveError (ETIMEDOUT when the upstream went quiet for `idleMs`) otherwise.
 */
export async function receiveNatively({ handed, external, idleMs, signal, grew }: NativeReceiveArgs): Promise<void> {
  if (receive === undefined) throw new Error('native receive is not available');
  const job = receive({
    socketFd: handed.fd,
    fileFd: external.fd,
    prefix: handed.prefix,
    length: handed.remaining,
    idleMs,
    progress: (written) => {
      external.advance(written);
      grew();
    },
  });
  const cancel = (): void => job.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  let keepSocket = false;
  try {
    const { written, sha256 } = await job.done;
    // The loop read exactly the body's rest: the connection is at a response boundary.
    keepSocket = true;
    handed.finished();
    external.advance(written);
    external.end(sha256);
  } catch (error) {
    if (!(error instanceof ReceiveError)) throw error;
    if (error.side === 'cancel') throw signal.reason;
    if (error.side === 'upstream') throw new NativeReceiveError(error.code, error.written);
    const unwritten = error.unwritten ?? Buffer.alloc(0);
    // The writer counts every byte in the file, reported or not: pass-through starts after them.
    external.advance(error.written);
    keepSocket = true;
    handed.takeBack(error.written + unwritten.length - handed.prefix.length);
    throw new NativeDiskError(error.written, unwritten, error.code);
  } finally {
    signal.removeEventListener('abort', cancel);
    if (!keepSocket) handed.close();
  }
}
