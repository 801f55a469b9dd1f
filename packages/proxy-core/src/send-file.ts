/**
 * Blob bodies by sendfile(2): the bytes of a committed blob, or of a fill's temp file, go
 * from the page cache to the client's socket inside the kernel, on @regcache/sendfile's
 * sender threads. The JavaScript thread copies none of them, so a warm blob is served at the
 * speed of the kernel and sixteen clients following one fill do not slow the fill down.
 *
 * Used only where it is exact: plain TCP (TLS encrypts in user space) and a response with a
 * Content-Length (a chunked body needs framing around every chunk). Elsewhere, or when the
 * addon is not built, callers stream through Node as before.
 *
 * The protocol on the socket: Node writes the head (and any earlier body chunks); `flushed`
 * waits until Node has handed all of it to the kernel; only then does the job write, and Node
 * writes nothing until the job settles. `res.end()` afterwards writes no bytes (the body was
 * Content-Length bytes, all sent by the job).
 */
import type { ServerResponse } from 'node:http';
import { loadSendfile, socketFd } from '@regcache/sendfile';

/** The addon is a process-wide resource, like `fs`: loaded once, its threads shared by every instance. */
const sendfile = loadSendfile();

/**
 * A client that takes no byte for this long while a send is under way is cut. Node itself
 * never times out a response being written; this only bounds a client that stopped reading.
 */
const STALL_MS = 120_000;

export interface BodySender {
  /** Sends `length` bytes of `fd` from `offset`; resolves with the bytes sent (fewer only if the file ended). */
  send(fd: number, offset: number, length: number): Promise<number>;
}

/** Whether this process can send files to sockets (the addon is built and loads). */
export function sendfileAvailable(): boolean {
  return sendfile !== undefined;
}

/**
 * A sender for this response's body, or undefined when the socket cannot take sendfile. The
 * caller must have set (or be about to set) a Content-Length before the first send.
 */
export function fileBodySender(res: ServerResponse): BodySender | undefined {
  const fd = socketFd(res.socket);
  if (sendfile === undefined || fd === undefined) return undefined;
  return {
    async send(fileFd, offset, length) {
      await flushed(res);
      const job = sendfile.send(fd, fileFd, offset, length, STALL_MS);
      const cancel = (): void => job.cancel();
      res.once('close', cancel);
      try {
        return await job.done;
      } finally {
        res.off('close', cancel);
      }
    },
  };
}

/** Resolves once all Node has written on the socket (head, earlier chunks) is in the kernel. */
function flushed(res: ServerResponse): Promise<void> {
  if (!res.headersSent) res.flushHeaders();
  const socket = res.socket;
  if (socket === null || socket.destroyed) return Promise.reject(new Error('client gone'));
  if (socket.writableLength === 0) return Promise.resolve();
  // Writes complete in order: this empty one completes after everything queued before it.
  return new Promise((resolve, reject) => {
    socket.write('', (error) => (error ? reject(error) : resolve()));
  });
}
