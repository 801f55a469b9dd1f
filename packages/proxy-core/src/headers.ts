/** Response headers shared by the blob and manifest paths. */
import type { ServerResponse } from 'node:http';
import type { Digest } from '@regcache/registry-protocol';
import { API_VERSION, API_VERSION_HEADER } from './respond.js';

/** Content-addressed responses never change: a year, like distribution. */
const IMMUTABLE = 'max-age=31536000';

export function setContentHeaders(res: ServerResponse, digest: Digest, mediaType: string, length: number | undefined): void {
  res.setHeader(API_VERSION_HEADER, API_VERSION);
  res.setHeader('content-type', mediaType);
  res.setHeader('docker-content-digest', digest);
  res.setHeader('etag', `"${digest}"`);
  if (length !== undefined) res.setHeader('content-length', length);
}

export function setBlobHeaders(res: ServerResponse, digest: Digest, mediaType: string, length: number | undefined): void {
  setContentHeaders(res, digest, mediaType, length);
  res.setHeader('accept-ranges', 'bytes');
  res.setHeader('cache-control', IMMUTABLE);
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function contentLength(value: string | string[] | undefined): number | undefined {
  const raw = headerValue(value);
  if (raw === undefined || !/^\d{1,15}$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

export type ResponseHead = Readonly<Record<string, string>>;

/**
 * The complete response head of a cached manifest, built once per digest and cache result and
 * handed to `writeHead` as it is: a hot manifest hit then sets no header one by one. Bounded
 * (starts over when full); content-addressed, so an entry can never be wrong for its digest.
 */
export function createManifestHeads(maxEntries = 10_000): (digest: Digest, mediaType: string, length: number, result: string) => ResponseHead {
  let heads = new Map<Digest, Map<string, ResponseHead>>();
  return (digest, mediaType, length, result) => {
    let byResult = heads.get(digest);
    const cached = byResult?.get(result);
    if (cached !== undefined) return cached;
    if (heads.size >= maxEntries) heads = new Map();
    if (byResult === undefined) heads.set(digest, (byResult = new Map()));
    const head: ResponseHead = Object.freeze({
      [API_VERSION_HEADER]: API_VERSION,
      'content-type': mediaType,
      'docker-content-digest': digest,
      etag: `"${digest}"`,
      'content-length': String(length),
      'x-regcache-cache': result,
    });
    byResult.set(result, head);
    return head;
  };
}
