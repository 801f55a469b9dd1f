/** Reading what an upstream answered: Retry-After, and the OCI error code of an error body. */
import type { Readable } from 'node:stream';
import { UpstreamUnavailableError } from '../errors.js';

const DEFAULT_RETRY_AFTER_MS = 60_000;
const MAX_RETRY_AFTER_MS = 3_600_000;
const MAX_ERROR_BODY = 64 * 1024;

/** Retry-After as delta-seconds or an HTTP date; a missing or odd value waits a minute. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number {
  return retryAfterGiven(value, now) ?? DEFAULT_RETRY_AFTER_MS;
}

/** Retry-After as delta-seconds or an HTTP date (at least 1 s, at most an hour), or undefined when missing or odd. */
export function retryAfterGiven(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  const ms = /^\s*\d+\s*$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 1000), MAX_RETRY_AFTER_MS);
}

/** The first `errors[].code` of an OCI error body, reading at most 64 KiB of it. */
export async function upstreamErrorCode(
  body: Readable & { dump(): Promise<void> },
  method: string,
  upstream: string,
): Promise<{ code?: string; message?: string }> {
  if (method === 'HEAD') {
    await body.dump();
    return {};
  }
  const bytes = await readBodyCapped(body, MAX_ERROR_BODY, upstream);
  if (bytes === undefined) return {};
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = parsed.errors?.[0];
    return {
      code: typeof first?.code === 'string' ? first.code : undefined,
      message: typeof first?.message === 'string' ? first.message.slice(0, 500) : undefined,
    };
  } catch {
    return {};
  }
}

/**
 * A whole (small) upstream body, or undefined — the rest dumped — once it passes `max` bytes.
 * A body the transport loses on the way (reset, cut short, stalled past
 * `timeouts.body`) is an `UpstreamUnavailableError`, so what is cached is served meanwhile; an
 * abort (the caller's signal) passes as it is.
 */
export async function readBodyCapped(body: AsyncIterable<unknown> & { dump(): Promise<void> }, max: number, upstream: string): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > max) {
        await body.dump();
        return undefined;
      }
      chunks.push(buf);
    }
  } catch (cause) {
    throw lostBody(upstream, cause);
  }
  return Buffer.concat(chunks, size);
}

/** What a transport error while reading a body means: a timeout, or the upstream unreachable. */
function lostBody(upstream: string, cause: unknown): unknown {
  const { name, code } = cause as { name?: string; code?: string };
  if (name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') return cause;
  const reason = code === 'UND_ERR_BODY_TIMEOUT' ? 'timeout' : 'unreachable';
  return new UpstreamUnavailableError(upstream, reason, undefined, { cause });
}
