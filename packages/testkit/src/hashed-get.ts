/**
 * hashedGet(): a GET that hashes the body as it arrives and reports what came — for tests that
 * must tell a whole, right body from a cut or wrong one without keeping it in memory. It can
 * hold the response before reading (a slow client) or leave after some bytes (a client that
 * goes away).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';

export interface Hashed {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** sha256 of the bytes that arrived. */
  digest: string;
  bytes: number;
  contentLength: number | undefined;
  /** The X-Regcache-Cache header. */
  cache: string | undefined;
  /** ms from the request to the first body byte. */
  firstByteMs: number | undefined;
  endMs: number;
  /** The body did not arrive whole: the connection broke, or the client left (`stopAfter`). */
  broken: boolean;
}

export interface HashedGetOptions {
  agent?: Dispatcher;
  headers?: Record<string, string>;
  /** Wait this long before reading the body. */
  holdMs?: number;
  /** Leave after this many bytes. */
  stopAfter?: number;
  /** Headers and body timeouts (default 30 s). */
  timeoutMs?: number;
}

/** The body arrived whole: not cut, and as long as its Content-Length said. */
export function complete(r: Hashed): boolean {
  return r.status === 200 && !r.broken && r.contentLength === r.bytes;
}

export async function hashedGet(url: string, opts: HashedGetOptions = {}): Promise<Hashed> {
  const started = Date.now();
  const timeout = opts.timeoutMs ?? 30_000;
  const res = await request(url, { dispatcher: opts.agent, headers: opts.headers, headersTimeout: timeout, bodyTimeout: timeout });
  if (opts.holdMs !== undefined) await sleep(opts.holdMs);
  const hash = createHash('sha256');
  let bytes = 0;
  let firstByteMs: number | undefined;
  let broken = false;
  try {
    for await (const chunk of res.body) {
      firstByteMs ??= Date.now() - started;
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (opts.stopAfter !== undefined && bytes >= opts.stopAfter) {
        res.body.destroy();
        broken = true;
        break;
      }
    }
  } catch {
    broken = true;
  }
  const length = res.headers['content-length'];
  return {
    status: res.statusCode,
    headers: res.headers,
    digest: `sha256:${hash.digest('hex')}`,
    bytes,
    contentLength: typeof length === 'string' ? Number(length) : undefined,
    cache: res.headers['x-regcache-cache'] as string | undefined,
    firstByteMs,
    endMs: Date.now() - started,
    broken,
  };
}
