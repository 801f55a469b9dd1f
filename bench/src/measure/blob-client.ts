/**
 * The blob client of the cold-fill and warm-blob rows, the same for every target: a minimal
 * HTTP/1.1 GET (`Connection: close`) on a raw socket that reads into one reused 1 MiB buffer
 * (net's `onread`), counts the body bytes and drops them (optionally hashing them, for the
 * untimed correctness check). node:http's client allocates and emits every 64 KiB chunk, which
 * on this machine made the *client* the limit (16 × 256 MiB: 3.9 s with node:http, 1.1 s with
 * this, 1.3 s with 16 curls, against nginx serving a static file); this one keeps up with curl.
 * A chunked response is refused: every target sends blobs with a Content-Length.
 */
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { BENCH_USER_AGENT, type GetResult } from './http-get.js';

const READ_BUFFER = 1024 * 1024;
const MAX_HEAD = 64 * 1024;

interface Head {
  status: number;
  headers: Record<string, string>;
}

function parseHead(text: string): Head {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers };
}

/** GET url on a fresh connection; resolves when the server closes it, rejects on errors and timeouts. */
export function blobGet(url: string, opts: { hash?: boolean; timeoutMs?: number } = {}): Promise<GetResult> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const startMs = performance.now();
    const hash = opts.hash === true ? createHash('sha256') : undefined;
    let pending: Buffer = Buffer.alloc(0);
    let head: Head | undefined;
    let headersMs = 0;
    let firstByteMs: number | undefined;
    let bytes = 0;
    const onBody = (chunk: Buffer): void => {
      if (chunk.length === 0) return;
      firstByteMs ??= performance.now();
      bytes += chunk.length;
      hash?.update(chunk);
    };
    const onHeadBytes = (chunk: Buffer): void => {
      pending = Buffer.concat([pending, chunk]);
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) {
        if (pending.length > MAX_HEAD) socket.destroy(new Error(`GET ${url}: response head over ${MAX_HEAD} bytes`));
        return;
      }
      head = parseHead(pending.subarray(0, end).toString('latin1'));
      headersMs = performance.now();
      if (/chunked/i.test(head.headers['transfer-encoding'] ?? '')) socket.destroy(new Error(`GET ${url}: chunked response (the bench client expects a Content-Length)`));
      else onBody(pending.subarray(end + 4));
    };
    const socket = connect({
      host: hostname,
      port: Number(port),
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback: (n: number, buf: Uint8Array): boolean => {
          const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (head === undefined) onHeadBytes(chunk);
          else onBody(chunk);
          return true;
        },
      },
    });
    socket.setNoDelay(true);
    socket.setTimeout(opts.timeoutMs ?? 600_000, () => socket.destroy(new Error(`GET ${url}: timed out`)));
    socket.once('connect', () => {
      socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUser-Agent: ${BENCH_USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
    });
    socket.once('error', reject);
    socket.once('end', () => {
      if (head === undefined) {
        reject(new Error(`GET ${url}: connection closed before a response`));
        return;
      }
      const digest = hash === undefined ? undefined : `sha256:${hash.digest('hex')}`;
      resolve({ status: head.status, bytes, headers: head.headers, startMs, headersMs, firstByteMs, endMs: performance.now(), digest });
    });
  });
}
