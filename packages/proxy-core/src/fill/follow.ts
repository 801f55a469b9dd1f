/**
 * Serving a client from a fill in progress: read the growing temp file from the client's own
 * position, wait for the fill when caught up, and write to the response honouring its
 * backpressure. Each client has its own file descriptor and position, so clients never hold
 * each other (or the fill) back, and the bytes in memory per client are one chunk.
 *
 * Nothing wrong is ever served complete-looking: the fill holds back the last byte of a blob
 * of known size until the digest is verified (Fill.readable), and a fill that fails cuts the
 * connection — the client sees a short body against its Content-Length, or a broken chunked
 * stream, never a wrong 200.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { BodySender } from '../send-file.js';
import type { Fill, FillReader } from './types.js';

const CHUNK = 256 * 1024;
/** A sendfile follower waits until this much is readable ahead of it (or GATHER_MS passes). */
const MIN_SEND = 2 * 1024 * 1024;
const GATHER_MS = 20;
/** At most this many window slices per write (one writev). */
const MAX_PIECES = 32;

export class FillFailedError extends Error {
  override readonly name = 'FillFailedError';
}

/** Told the bytes written so far, each time more have gone to the socket. */
export type SentListener = (sent: number) => void;

/**
 * Bytes [start, end) of the fill (to its end when `end` is undefined), written to `res` — by
 * `sender` (sendfile, when the response has a Content-Length and a plain socket) or through
 * Node. Resolves with the bytes written; `onSent` follows them meanwhile (a follower cut
 * midway has sent some).
 */
export async function followFill(fill: Fill, res: ServerResponse, start: number, end: number | undefined, sender?: BodySender, onSent: SentListener = () => undefined): Promise<number> {
  const reader = fill.attach();
  let fd: FileHandle | undefined;
  try {
    fd = await openFill(fill);
    if (sender !== undefined) return await sendFromFill(fill, reader, fd, res, sender, start, end, onSent);
    return await copyFromFill(fill, reader, fd, res, start, end, onSent);
  } finally {
    reader.detach();
    await fd?.close();
  }
}

async function openFill(fill: Fill): Promise<FileHandle> {
  try {
    return await open(fill.tempPath, 'r');
  } catch (error) {
    // Renamed into place between our lookup and this open (the commit runs after the bytes
    // verify, while the fill can still be joined): the final file is the same content.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && (fill.verified() || fill.status() === 'committed')) return open(fill.finalPath, 'r');
    throw error;
  }
}

/**
 * The next bytes for this client: from the fill's window of recent bytes when the client
 * keeps up; else from the temp file into `buffer` (one of the client's two reused buffers —
 * no allocation per chunk, so memory stays flat with many clients); or, past what reached
 * the disk, from the client's pass-through queue.
 */
async function nextChunk(fill: Fill, reader: FillReader, fd: FileHandle, buffer: Buffer, position: number, length: number): Promise<Buffer | undefined> {
  const onDisk = fill.onDisk();
  if (position >= onDisk) {
    const memory = reader.fromMemory(position, length);
    if (memory === undefined) throw new FillFailedError(`fill of ${fill.digest} can no longer be followed`);
    return memory;
  }
  const want = Math.min(length, onDisk - position, buffer.length);
  const recent = fill.fromRecent(position, want);
  if (recent !== undefined) return recent;
  const { bytesRead } = await fd.read(buffer, 0, want, position);
  return bytesRead === 0 ? undefined : buffer.subarray(0, bytesRead);
}

/**
 * Following by sendfile: each step sends what is on disk and readable now, straight from the
 * temp file's pages; the JavaScript thread copies nothing. Bytes that exist only in memory
 * (pass-through after a disk failure) go through Node.
 */
async function sendFromFill(fill: Fill, reader: FillReader, fd: FileHandle, res: ServerResponse, sender: BodySender, start: number, end: number | undefined, onSent: SentListener): Promise<number> {
  let position = start;
  let gathered = false;
  // The head goes out now: a client learns at once that its blob is coming.
  res.flushHeaders();
  for (;;) {
    if (fill.status() === 'failed' && !fill.verified()) throw new FillFailedError(`fill of ${fill.digest} failed`);
    const target = end ?? (fill.complete() || fill.verified() ? fill.readable() : Number.POSITIVE_INFINITY);
    if (position >= target) break;
    const limit = Math.min(fill.readable(), target);
    if (position >= limit) {
      await fill.wait(position);
      continue;
    }
    if (!gathered && limit - position < MIN_SEND && limit < target && fill.status() === 'running') {
      await gather(fill, Math.min(position + MIN_SEND, target));
      gathered = true;
      continue;
    }
    gathered = false;
    const onDisk = fill.onDisk();
    if (position < onDisk) {
      const sent = await sender.send(fd.fd, position, Math.min(limit, onDisk) - position);
      if (sent === 0) throw new FillFailedError(`temp file of ${fill.digest} is shorter than written`);
      position += sent;
      onSent(position - start);
      continue;
    }
    const memory = reader.fromMemory(position, limit - position);
    if (memory === undefined) throw new FillFailedError(`fill of ${fill.digest} can no longer be followed`);
    await writeChunks(res, [memory]);
    position += memory.length;
    onSent(position - start);
  }
  return position - start;
}

/**
 * A job per few MiB, not per upstream chunk: sixteen followers waking for every 64 KiB would
 * cost the fill's own thread more than the bytes do. Waits until the fill is readable up to
 * `upTo` (MIN_SEND ahead, or the end of the blob), but never longer than GATHER_MS (a slow
 * upstream still streams).
 */
async function gather(fill: Fill, upTo: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, GATHER_MS);
  });
  await Promise.race([fill.wait(upTo - 1), timeout]);
  clearTimeout(timer);
}

/**
 * Two buffers per client, alternating: one is being flushed to the socket while the next
 * is read. A buffer is reused only after its write has completed, which also bounds what a
 * client can have outstanding (backpressure without a drain listener per chunk).
 */
async function copyFromFill(fill: Fill, reader: FillReader, fd: FileHandle, res: ServerResponse, start: number, end: number | undefined, onSent: SentListener): Promise<number> {
  const buffers: [Buffer, Buffer] = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  const writes: [Promise<void>, Promise<void>] = [Promise.resolve(), Promise.resolve()];
  let turn: 0 | 1 = 0;
  let position = start;
  try {
    for (;;) {
      if (fill.status() === 'failed' && !fill.verified()) throw new FillFailedError(`fill of ${fill.digest} failed`);
      const target = end ?? (fill.complete() || fill.verified() ? fill.readable() : Number.POSITIVE_INFINITY);
      if (position >= target) break;
      const limit = fill.readable();
      if (position >= limit) {
        await fill.wait(position);
        continue;
      }
      await writes[turn];
      const budget = Math.min(CHUNK, limit - position, target - position);
      const chunk = await nextChunk(fill, reader, fd, buffers[turn], position, budget);
      if (chunk === undefined) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      const pieces = [chunk, ...moreRecent(fill, position + chunk.length, budget - chunk.length, chunk)];
      for (const piece of pieces) position += piece.length;
      const written = position - start;
      const write = writeChunks(res, pieces).then(() => onSent(written));
      // Observed when this buffer's turn comes again (or at the end); never left unhandled meanwhile.
      write.catch(() => undefined);
      writes[turn] = write;
      turn = turn === 0 ? 1 : 0;
    }
  } finally {
    await Promise.allSettled(writes);
  }
  await Promise.all(writes);
  return position - start;
}

/**
 * After a slice of the recent window, the slices that follow it (up to `budget` bytes): a
 * client that keeps up gets the fill's chunks as they came, several per write. Disk reads
 * (into a reused buffer) are never followed by more pieces: that buffer is one piece alone.
 */
function moreRecent(fill: Fill, position: number, budget: number, first: Buffer): Buffer[] {
  const more: Buffer[] = [];
  if (fill.fromRecent(position - first.length, first.length) === undefined) return more;
  let next = position;
  let left = budget;
  while (left > 0 && more.length < MAX_PIECES) {
    const piece = fill.fromRecent(next, left);
    if (piece === undefined || piece.length === 0) break;
    more.push(piece);
    next += piece.length;
    left -= piece.length;
  }
  return more;
}

/**
 * Write chunks in one corked batch (one writev); resolves once the last is flushed to the
 * socket, rejects if the client has gone.
 */
export function writeChunks(res: ServerResponse, chunks: readonly Buffer[]): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.reject(new Error('client gone'));
  return new Promise((resolve, reject) => {
    const gone = (): void => reject(new Error('client gone'));
    res.once('close', gone);
    res.cork();
    chunks.forEach((chunk, i) => {
      if (i < chunks.length - 1) {
        res.write(chunk);
        return;
      }
      res.write(chunk, (error) => {
        res.off('close', gone);
        if (error) reject(error);
        else resolve();
      });
    });
    res.uncork();
  });
}
