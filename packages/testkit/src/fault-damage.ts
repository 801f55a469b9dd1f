/**
 * The body damage a fault proxy applies on the way back: cut short, one byte flipped, stalled,
 * reset, or trickled. Bytes before the point of damage pass unchanged.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';

export type BodyFault =
  | { kind: 'truncate'; at?: number }
  | { kind: 'corrupt'; at?: number }
  | { kind: 'stall'; at?: number }
  | { kind: 'reset'; at?: number }
  | { kind: 'trickle'; bytesPerSecond: number };

export type CutKind = 'end' | 'reset' | 'stall';

/** A trickle sends at most this many pieces per second, so 1 KiB/s really arrives ~100 bytes at a time. */
const TRICKLE_PIECES_PER_SECOND = 10;

/** Passes bytes until `at` (default: half of `length`), then damages the body the way `fault` says. */
export function damage(fault: BodyFault, length: number, onCut: (how: CutKind) => void): Transform {
  if (fault.kind === 'trickle') return trickle(fault.bytesPerSecond);
  let offset = 0;
  const at = fault.at ?? Math.floor(length / 2);
  let cut = false;
  return new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      if (cut) return callback();
      const start = offset;
      offset += chunk.length;
      if (fault.kind === 'corrupt') {
        if (at < start || at >= offset) return callback(null, chunk);
        const copy = Buffer.from(chunk);
        copy[at - start] = (copy[at - start] ?? 0) ^ 0xff;
        return callback(null, copy);
      }
      if (offset <= at) return callback(null, chunk);
      cut = true;
      this.push(chunk.subarray(0, at - start));
      onCut(fault.kind === 'truncate' ? 'end' : fault.kind);
      callback();
    },
    // Past the cut the body never ends: an ended response would leave the connection alive and
    // idle (the client waiting for the rest until the server's keep-alive timeout closes it,
    // 5 s later) instead of cut the way the fault says — or, for a stall, held open.
    flush(callback: TransformCallback) {
      if (!cut) callback();
    },
  });
}

/**
 * Sends each chunk in pieces of bytesPerSecond/10, one every 100 ms: a slow link, not a
 * fast one that pauses between 64 KiB chunks.
 */
function trickle(bytesPerSecond: number): Transform {
  const piece = Math.max(1, Math.floor(bytesPerSecond / TRICKLE_PIECES_PER_SECOND));
  let timer: NodeJS.Timeout | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      let sent = 0;
      const next = (): void => {
        if (sent >= chunk.length) return callback();
        const slice = chunk.subarray(sent, sent + piece);
        sent += slice.length;
        timer = setTimeout(() => {
          this.push(slice);
          next();
        }, (slice.length / bytesPerSecond) * 1000);
      };
      next();
    },
    destroy(error, callback) {
      clearTimeout(timer);
      callback(error);
    },
  });
}

/** `bytes` in a content coding: gzip, deflate (zlib-wrapped, as HTTP means it) or br; any other name leaves them as they are. */
export function encodeBody(encoding: string, bytes: Buffer): Buffer {
  if (encoding === 'gzip') return gzipSync(bytes);
  if (encoding === 'deflate') return deflateSync(bytes);
  if (encoding === 'br') return brotliCompressSync(bytes);
  return bytes;
}
