/**
 * `Transfer-Encoding: chunked` for plain-get.ts (RFC 9112 §7.1): registries frame blobs with
 * Content-Length, but error answers and proxies in between often come chunked, and asking
 * again through another client would show the upstream a second request.
 *
 *   size[;ext] CRLF  data CRLF  …  0 CRLF  [trailer CRLF]…  CRLF
 *
 * Fed the bytes as they arrive (any split); returns the data pieces in them, as views.
 */
import { PlainGetProtocolError } from './plain-head.js';

const MAX_LINE = 4096;

export interface ChunkedDecoder {
  /** The data in `bytes` (views into it); throws PlainGetProtocolError on bad framing. */
  feed(bytes: Buffer): Buffer[];
  /** The last chunk and the trailers have been read. */
  done(): boolean;
}

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

export function createChunkedDecoder(): ChunkedDecoder {
  let state: State = 'size';
  let line = '';
  let left = 0;

  /** Collects a CRLF-terminated line from `bytes` at `at`; returns the index after it, or -1 when it goes on. */
  function readLine(bytes: Buffer, at: number): number {
    const lf = bytes.indexOf(0x0a, at);
    line += bytes.toString('latin1', at, lf < 0 ? bytes.length : lf + 1);
    if (line.length > MAX_LINE) throw new PlainGetProtocolError('chunked framing line too long');
    return lf < 0 ? -1 : lf + 1;
  }

  function takeLine(): string {
    if (!line.endsWith('\r\n')) throw new PlainGetProtocolError('chunked framing line without CRLF');
    const text = line.slice(0, -2);
    line = '';
    return text;
  }

  function onSizeLine(text: string): void {
    const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(text);
    if (size === null) throw new PlainGetProtocolError('bad chunk size');
    left = Number.parseInt(size[1] as string, 16);
    state = left === 0 ? 'trailer' : 'data';
  }

  return {
    feed(bytes) {
      const pieces: Buffer[] = [];
      let at = 0;
      while (at < bytes.length && state !== 'done') {
        if (state === 'data') {
          const n = Math.min(left, bytes.length - at);
          pieces.push(bytes.subarray(at, at + n));
          at += n;
          left -= n;
          if (left === 0) state = 'data-end';
          continue;
        }
        const next = readLine(bytes, at);
        if (next < 0) break;
        at = next;
        const text = takeLine();
        if (state === 'size') onSizeLine(text);
        else if (state === 'data-end') {
          if (text !== '') throw new PlainGetProtocolError('chunk data longer than its size');
          state = 'size';
        } else if (text === '') state = 'done';
      }
      return pieces;
    },
    done: () => state === 'done',
  };
}
