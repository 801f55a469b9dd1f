/**
 * The small-request client (priming GETs of manifests): one node:http GET on its own connection,
 * bytes counted and discarded, with the times of the response headers, the first body byte and
 * the end (performance.now(), ms).
 * Blobs go through blob-client.ts instead.
 */
import { request } from 'node:http';

export const BENCH_USER_AGENT = 'regcache-bench/1';

export interface GetResult {
  status: number;
  bytes: number;
  headers: Record<string, string | string[] | undefined>;
  startMs: number;
  headersMs: number;
  /** undefined for an empty body. */
  firstByteMs: number | undefined;
  endMs: number;
  /** 'sha256:<hex>' of the body when hashing was asked for (blob client). */
  digest?: string;
}

export interface GetOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One request; rejects on network errors and timeouts, resolves on any HTTP status. */
export function timedGet(url: string, opts: GetOptions = {}): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const startMs = performance.now();
    const req = request(url, { method: opts.method ?? 'GET', agent: false, headers: { 'user-agent': BENCH_USER_AGENT, ...opts.headers } }, (res) => {
      const headersMs = performance.now();
      let firstByteMs: number | undefined;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        firstByteMs ??= performance.now();
        bytes += chunk.length;
      });
      res.on('error', reject);
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, bytes, headers: res.headers, startMs, headersMs, firstByteMs, endMs: performance.now() });
      });
    });
    req.setTimeout(opts.timeoutMs ?? 600_000, () => req.destroy(new Error(`timed out: ${opts.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Throws unless the response is a 200 with exactly `size` bytes. */
export function expectBody(what: string, result: GetResult, size: number): void {
  if (result.status !== 200) throw new Error(`${what}: HTTP ${result.status}`);
  if (result.bytes !== size) throw new Error(`${what}: ${result.bytes} bytes, expected ${size}`);
}
