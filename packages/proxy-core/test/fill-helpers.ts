/** Clients for fill tests: stream a blob through regcache, hashing it, and report what arrived. */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';

export interface Received {
  status: number;
  bytes: number;
  digest: string;
  contentLength: number | undefined;
  cache: string | undefined;
  /** ms from the request to the first body byte. */
  firstByteMs: number | undefined;
  endMs: number;
  /** The body broke off (connection cut) — what a client must see for a bad fill. */
  broken: boolean;
}

export async function getBlob(url: string, headers: Record<string, string> = {}, opts: { stopAfter?: number } = {}): Promise<Received> {
  const started = Date.now();
  const res = await request(url, { headers, headersTimeout: 60_000, bodyTimeout: 60_000 });
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
        break;
      }
    }
  } catch {
    broken = true;
  }
  const length = res.headers['content-length'];
  return {
    status: res.statusCode,
    bytes,
    digest: `sha256:${hash.digest('hex')}`,
    contentLength: typeof length === 'string' ? Number(length) : undefined,
    cache: res.headers['x-regcache-cache'] as string | undefined,
    firstByteMs,
    endMs: Date.now() - started,
    broken,
  };
}

export function randomBlob(size: number): { bytes: Buffer; digest: string } {
  const bytes = randomBytes(size);
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** A body that is complete-looking: full length, not cut. Such a body must be the right one. */
export function looksComplete(r: Received): boolean {
  return r.status === 200 && !r.broken && r.contentLength !== undefined && r.bytes === r.contentLength;
}
