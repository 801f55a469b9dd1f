/**
 * The fallback when the disk fails mid-fill (ENOSPC, EIO, EROFS): the clients already
 * following the fill still get every byte. The bytes already in the temp file are re-hashed
 * from it (the file is then removed; followers' open descriptors keep it readable), and from
 * then on each chunk is hashed in memory and queued for each follower. Nothing is stored,
 * and the last byte is still only released once the digest checks out.
 *
 * Memory stays bounded: the fill waits (backpressure to the upstream) while any follower has
 * more than QUEUE_LIMIT bytes queued.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { digestAlgorithm, type Digest } from '@regcache/registry-protocol';

const QUEUE_LIMIT = 8 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

export interface MemoryQueue {
  /** Offset of the first queued byte. */
  start: number;
  chunks: Buffer[];
  bytes: number;
}

export interface Passthrough {
  readonly diskBytes: number;
  memBytes(): number;
  queueFor(reader: object): MemoryQueue | undefined;
  push(chunk: Buffer): Promise<void>;
  take(queue: MemoryQueue, position: number, max: number): Buffer | undefined;
  forget(reader: object): void;
  digestMatches(): boolean;
}

/**
 * Hash the first `length` bytes of the temp file (written before the disk failed), through
 * the descriptor the fill opened at its start: the store may already have unlinked the file.
 */
async function hashPrefix(fd: FileHandle, length: number, hash: Hash): Promise<void> {
  const buffer = Buffer.allocUnsafe(READ_CHUNK);
  for (let position = 0; position < length; ) {
    const { bytesRead } = await fd.read(buffer, 0, Math.min(READ_CHUNK, length - position), position);
    if (bytesRead === 0) throw new Error('temp file shorter than written');
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

export async function startPassthrough(digest: Digest, temp: FileHandle, diskBytes: number, readers: Iterable<object>): Promise<Passthrough> {
  const hash = createHash(digestAlgorithm(digest));
  await hashPrefix(temp, diskBytes, hash);
  const queues = new Map<object, MemoryQueue>();
  for (const reader of readers) queues.set(reader, { start: diskBytes, chunks: [], bytes: 0 });
  let memBytes = 0;
  let drained: Array<() => void> = [];
  const wake = (): void => {
    const current = drained;
    drained = [];
    for (const resolve of current) resolve();
  };
  const fullest = (): number => Math.max(0, ...[...queues.values()].map((q) => q.bytes));

  return {
    diskBytes,
    memBytes: () => memBytes,
    queueFor: (reader) => queues.get(reader),
    async push(chunk) {
      hash.update(chunk);
      memBytes += chunk.length;
      for (const queue of queues.values()) {
        queue.chunks.push(chunk);
        queue.bytes += chunk.length;
      }
      while (fullest() > QUEUE_LIMIT) await new Promise<void>((resolve) => drained.push(resolve));
    },
    take(queue, position, max) {
      if (position !== queue.start || queue.chunks.length === 0) return undefined;
      const head = queue.chunks[0] as Buffer;
      const piece = head.length <= max ? head : head.subarray(0, max);
      if (piece === head) queue.chunks.shift();
      else queue.chunks[0] = head.subarray(max);
      queue.start += piece.length;
      queue.bytes -= piece.length;
      wake();
      return piece;
    },
    forget(reader) {
      queues.delete(reader);
      wake();
    },
    digestMatches: () => `${digestAlgorithm(digest)}:${hash.digest('hex')}` === digest,
  };
}
