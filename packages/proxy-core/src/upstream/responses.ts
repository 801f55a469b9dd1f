/** Reading what an upstream answered: Retry-After, and the OCI error code of an error body. */
import type { Readable } from 'node:stream';

const DEFAULT_RETRY_AFTER_MS = 60_000;
const MAX_RETRY_AFTER_MS = 3_600_000;
const MAX_ERROR_BODY = 64 * 1024;

/** Retry-After as delta-seconds or an HTTP date; a missing or odd value waits a minute. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return DEFAULT_RETRY_AFTER_MS;
  const seconds = /^\s*\d+\s*$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw) - now;
  if (!Number.isFinite(seconds)) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(Math.max(seconds, 1000), MAX_RETRY_AFTER_MS);
}

/** The first `errors[].code` of an OCI error body, reading at most 64 KiB of it. */
export async function upstreamErrorCode(
  body: Readable & { dump(): Promise<void> },
  method: string,
): Promise<{ code?: string; message?: string }> {
  if (method === 'HEAD') {
    await body.dump();
    return {};
  }
  const bytes = await readBodyCapped(body, MAX_ERROR_BODY);
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

/** A whole (small) upstream body, or undefined — the rest dumped — once it passes `max` bytes. */
export async function readBodyCapped(body: AsyncIterable<unknown> & { dump(): Promise<void> }, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) {
      await body.dump();
      return undefined;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}
