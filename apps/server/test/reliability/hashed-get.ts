/** A GET that hashes the body as it arrives (optionally holding the response first, or leaving early). */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';

export interface Hashed {
  status: number;
  digest: string;
  bytes: number;
  contentLength: number | undefined;
  cache: string | undefined;
  /** The body broke off before its end. */
  broken: boolean;
}

export interface HashedGetOptions {
  agent?: Dispatcher;
  headers?: Record<string, string>;
  /** Wait this long before reading the body. */
  holdMs?: number;
  /** Leave after this many bytes. */
  stopAfter?: number;
}

/** The body arrived whole: not cut, and as long as its Content-Length said. */
export function complete(r: Hashed): boolean {
  return r.status === 200 && !r.broken && r.contentLength === r.bytes;
}

export async function hashedGet(url: string, opts: HashedGetOptions = {}): Promise<Hashed> {
  const res = await request(url, { dispatcher: opts.agent, headers: opts.headers, headersTimeout: 30_000, bodyTimeout: 30_000 });
  if (opts.holdMs !== undefined) await sleep(opts.holdMs);
  const hash = createHash('sha256');
  let bytes = 0;
  let broken = false;
  try {
    for await (const chunk of res.body) {
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
    digest: `sha256:${hash.digest('hex')}`,
    bytes,
    contentLength: typeof length === 'string' ? Number(length) : undefined,
    cache: res.headers['x-regcache-cache'] as string | undefined,
    broken,
  };
}
