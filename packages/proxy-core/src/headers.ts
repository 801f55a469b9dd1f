/** Response headers shared by the blob and manifest paths, and request headers read without `req.headers`. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { noneMatchHits, type Digest } from '@regcache/registry-protocol';
import { API_VERSION, API_VERSION_HEADER } from './respond.js';

/** Content-addressed responses never change: a year, like distribution. */
const IMMUTABLE = 'max-age=31536000';

/** What names a content-addressed answer, in a 200 and a 304 alike: the API version, its digest and its ETag. */
function setIdentityHeaders(res: ServerResponse, digest: Digest): void {
  res.setHeader(API_VERSION_HEADER, API_VERSION);
  res.setHeader('docker-content-digest', digest);
  res.setHeader('etag', `"${digest}"`);
}

export function setContentHeaders(res: ServerResponse, digest: Digest, mediaType: string, length: number | undefined): void {
  setIdentityHeaders(res, digest);
  res.setHeader('content-type', mediaType);
  if (length !== undefined) res.setHeader('content-length', length);
}

export function setBlobHeaders(res: ServerResponse, digest: Digest, mediaType: string, length: number | undefined): void {
  setContentHeaders(res, digest, mediaType, length);
  res.setHeader('accept-ranges', 'bytes');
  res.setHeader('cache-control', IMMUTABLE);
}

/**
 * A 304 when the request's If-None-Match names `digest` (the ETag a 200 would carry), with the
 * headers a 200 would have sent that RFC 9110 §15.4.5 keeps (ETag, Cache-Control) and the
 * digest; true when it answered. Asked only once the representation is known to exist — in
 * the store, or confirmed by the upstream — since `*` and a digest a client merely guessed
 * must not turn a 404 into a 304. Evaluated before Range (§13.2.2).
 */
export function answerNotModified(req: IncomingMessage, res: ServerResponse, digest: Digest, kind: 'blob' | 'manifest', result: string): boolean {
  if (!noneMatchHits(headerValue(req.headers['if-none-match']), digest)) return false;
  res.statusCode = 304;
  setIdentityHeaders(res, digest);
  if (kind === 'blob') res.setHeader('cache-control', IMMUTABLE);
  res.setHeader('x-regcache-cache', result);
  res.end();
  return true;
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** What `rawHeader` returns for a header sent more than once. */
export const REPEATED_HEADER = '\u0000repeated';

/** `candidate` equals `name` (lower-case letters and '-') ignoring case. */
function sameName(candidate: string, name: string): boolean {
  if (candidate.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    // Exact for letters and '-', the only characters of the names asked for.
    if ((candidate.charCodeAt(i) | 0x20) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The value of request header `name` (lower case) read from `rawHeaders` (name, value, …):
 * '' when absent, REPEATED_HEADER when sent more than once. `req.headers` is built on first
 * use; a replayed answer does without it.
 */
export function rawHeader(raw: readonly string[], name: string): string {
  let value = '';
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (!sameName(raw[i] ?? '', name)) continue;
    if (seen) return REPEATED_HEADER;
    seen = true;
    value = raw[i + 1] ?? '';
  }
  return value;
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
