/**
 * Serving a client from a fill in progress: read the growing temp file from the client's own
 * position, wait for the fill when caught up, and write to the response honouring its
 * backpressure. Each client has its own file descriptor and position, so clients never
 * hold each other (or the fill) back, and the bytes in memory per client are one chunk.
 *
 * Nothing wrong is ever served complete-looking: while the fill runs, the last byte of a
 * blob of known size is held back, and it is only sent once the store has verified the
 * digest and committed; a fill that fails cuts the connection (the client sees a short
 * body against its Content-Length, or a broken chunked stream — never a wrong 200).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Fill } from './engine.js';

const CHUNK = 1024 * 1024;

export class FillFailedError extends Error {
  override readonly name = 'FillFailedError';
}

/** Bytes [start, end) of the fill, written to `res`. Resolves with the bytes written. */
export async function followFill(fill: Fill, res: ServerResponse, start: number, end: number | undefined): Promise<number> {
  const detach = fill.attach();
  let fd: FileHandle | undefined;
  try {
    fd = await openFill(fill);
    return await copyFromFill(fill, fd, res, start, end);
  } finally {
    detach();
    await fd?.close();
  }
}

async function openFill(fill: Fill): Promise<FileHandle> {
  try {
    return await open(fill.tempPath, 'r');
  } catch (error) {
    // Renamed into place between our lookup and this open: the committed file is the same content.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && fill.status() === 'committed') return open(fill.finalPath, 'r');
    throw error;
  }
}

function readableLimit(fill: Fill): number {
  if (fill.status() === 'failed') throw new FillFailedError(`fill of ${fill.digest} failed`);
  return fill.readable();
}

async function copyFromFill(fill: Fill, fd: FileHandle, res: ServerResponse, start: number, end: number | undefined): Promise<number> {
  let position = start;
  let sent = 0;
  for (;;) {
    const target = end ?? (fill.status() === 'committed' ? fill.written() : Number.POSITIVE_INFINITY);
    if (position >= target) break;
    const limit = readableLimit(fill);
    if (position >= limit) {
      await fill.wait(position);
      continue;
    }
    const length = Math.min(CHUNK, limit - position, target - position);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await fd.read(buffer, 0, length, position);
    if (bytesRead === 0) {
      await fill.wait(position);
      continue;
    }
    position += bytesRead;
    sent += bytesRead;
    await writeChunk(res, bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
  }
  // A blob of unknown size is only complete once the fill has committed (verified).
  if (end === undefined) {
    await fill.done.catch(() => undefined);
    readableLimit(fill);
  }
  return sent;
}

/** Write one chunk, waiting for 'drain' when the socket is full; rejects if the client has gone. */
export async function writeChunk(res: ServerResponse, chunk: Buffer): Promise<void> {
  if (res.destroyed || res.writableEnded) throw new Error('client gone');
  if (res.write(chunk)) return;
  const ac = new AbortController();
  try {
    await Promise.race([
      once(res, 'drain', { signal: ac.signal }),
      once(res, 'close', { signal: ac.signal }).then(() => {
        throw new Error('client gone');
      }),
    ]);
  } finally {
    ac.abort();
  }
}
