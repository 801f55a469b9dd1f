/**
 * Domain errors of proxy-core, and the one place that maps every error a request can meet
 * (protocol, store, upstream) to an OCI error code. Deeper layers throw these or their own
 * errors and know nothing of HTTP; `toOciError` runs once, in the handler.
 */
import { basicChallenge, isProtocolError, type ErrorCode } from '@regcache/registry-protocol';
import { BlobNotFoundError, BlobStoreError, DigestMismatchError, SizeMismatchError, StoreWriteError } from '@regcache/blob-store';

export type RouteKind = 'manifest' | 'blob' | 'tags' | 'base' | 'other';

/**
 * The upstream could not be asked or gave no usable answer: connection refused/reset, DNS, a
 * timeout, a 5xx, a body cut short (`unreachable`/`timeout`), an answer it cannot have meant
 * (`token`: its token server's 200 without a token), its blob storage refusing a redirect it
 * gave (`storage`: an expired signed URL), or regcache's own credentials refused.
 */
export class UpstreamUnavailableError extends Error {
  override readonly name = 'UpstreamUnavailableError';
  constructor(
    readonly upstream: string,
    readonly reason: 'unreachable' | 'timeout' | 'status' | 'redirects' | 'credentials' | 'token' | 'storage',
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(unavailableMessage(upstream, reason, status), options);
  }
}

function unavailableMessage(upstream: string, reason: UpstreamUnavailableError['reason'], status: number | undefined): string {
  if (reason === 'credentials') return `upstream ${upstream} refused regcache's configured credentials (${status ?? 401}): check its username, password or token`;
  if (reason === 'storage') return `upstream ${upstream} unavailable: its blob storage answered ${status ?? 'an error'} to the redirect it gave`;
  if (reason === 'token') return `upstream ${upstream} unavailable: its token server answered with no token`;
  return `upstream ${upstream} unavailable (${reason}${status === undefined ? '' : ` ${status}`})`;
}

/** The upstream answered 429. `retryAfterMs` is when regcache may ask again. */
export class UpstreamRateLimitedError extends Error {
  override readonly name = 'UpstreamRateLimitedError';
  constructor(
    readonly upstream: string,
    readonly retryAfterMs: number,
    /** Not asked: held back by regcache inside an earlier 429's Retry-After (not a 429 of the upstream's own). */
    readonly held = false,
  ) {
    super(`upstream ${upstream} is rate-limiting; retry in ${Math.ceil(retryAfterMs / 1000)}s`);
  }
}

/**
 * The upstream answered 401, 403 or 404 (or another 4xx): it refuses or does not have it. (A
 * 401 to credentials regcache was configured with is an `UpstreamUnavailableError` instead:
 * the cache, not the client, is at fault, and what it holds is served meanwhile.)
 */
export class UpstreamRefusedError extends Error {
  override readonly name = 'UpstreamRefusedError';
  constructor(
    readonly upstream: string,
    readonly status: number,
    readonly ociCode?: string,
    readonly upstreamMessage?: string,
  ) {
    super(`upstream ${upstream} answered ${status}${ociCode ? ` ${ociCode}` : ''}`);
  }
}

/**
 * The upstream gave no referrers list for `digest` (no such API, unreachable, not an index):
 * answered 404 so that the client reads the referrers tag schema instead (see referrers.ts).
 */
export class ReferrersUnavailableError extends Error {
  override readonly name = 'ReferrersUnavailableError';
  constructor(
    readonly upstream: string,
    readonly digest: string,
  ) {
    super(`upstream ${upstream} gave no referrers list for ${digest}: read the referrers tag schema (${digest.replace(':', '-')})`);
  }
}

/** The upstream sent content that is not what it claims (bad manifest JSON, digest mismatch, too large). */
export class UpstreamContentError extends Error {
  override readonly name = 'UpstreamContentError';
  constructor(
    readonly upstream: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The upstream's manifest is one regcache will not cache or pass on: a Docker schema 1
 * manifest (signed, its digest is not that of the bytes served, and no current client pulls
 * it), or one over the 4 MiB every registry caps manifests at. Not an outage — asking again
 * gets the same answer — so MANIFEST_INVALID (400), as distribution answers a pull of a
 * schema 1 manifest ("Schema 1 manifest not supported") and a manifest PUT over 4 MiB.
 */
export class UnsupportedManifestError extends Error {
  override readonly name = 'UnsupportedManifestError';
  constructor(
    readonly upstream: string,
    readonly reason: 'schema1' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/** A request after the embedder's `close()`: nothing is answered from a cache being shut down, not even from memory. */
export class CacheClosedError extends Error {
  override readonly name = 'CacheClosedError';
  constructor() {
    super('regcache is shut down');
  }
}

/** A method other than GET or HEAD on a route that answers those: 405, with the Allow it needs (RFC 9110 §15.5.6). */
export class MethodNotAllowedError extends Error {
  override readonly name = 'MethodNotAllowedError';
  constructor(method: string) {
    super(`regcache is a read-only pull-through cache: ${method.slice(0, 16)} is not supported`);
  }
}

/** A Range a blob of this size cannot satisfy. */
export class RangeNotSatisfiableError extends Error {
  override readonly name = 'RangeNotSatisfiableError';
  constructor(readonly size: number) {
    super(`range not satisfiable for a blob of ${size} bytes`);
  }
}

/** A request named an upstream (`ns=`) that is not configured: never an open proxy. */
export class UnknownUpstreamError extends Error {
  override readonly name = 'UnknownUpstreamError';
  constructor(readonly requested: string) {
    super(`no upstream named "${requested}" is configured`);
  }
}

/** The upstream's repository policy (`repositories` in its config) does not serve this repository. */
export class RepositoryDeniedError extends Error {
  override readonly name = 'RepositoryDeniedError';
  constructor(
    readonly upstream: string,
    readonly repo: string,
  ) {
    super(`repository ${repo} of ${upstream} is not served by this cache`);
  }
}

/** A client sent no credentials, or wrong ones, while client auth is on. */
export class ClientAuthError extends Error {
  override readonly name = 'ClientAuthError';
  constructor(
    readonly reason: 'missing' | 'malformed' | 'unknown-user' | 'bad-password' | 'bad-token',
    readonly realm: string,
  ) {
    super(reason === 'missing' ? 'authentication required' : 'authentication failed');
  }
}

/** Too many distinct password checks are waiting (client auth's bcrypt runs one at a time): refused, not queued. */
export class CredentialChecksBusyError extends Error {
  override readonly name = 'CredentialChecksBusyError';
  constructor() {
    super('too many password checks are waiting; try again in a moment');
  }
}

/** The `code` of a LevelDB error (`LEVEL_IO_ERROR`, `LEVEL_CORRUPTION`, …): the store's index failed. */
function levelErrorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('LEVEL_') ? code : undefined;
}

/**
 * A write the disk refused (full, read-only, failing): the blob store's own, or LevelDB's (the
 * index lives on the same disk). What was being written is verified content that can still be
 * answered; only keeping it failed.
 */
export function isDiskError(error: unknown): boolean {
  return error instanceof StoreWriteError || levelErrorCode(error) === 'LEVEL_IO_ERROR';
}

/**
 * For a write that only remembers something (a repository link, a tag's record): a disk that
 * refuses it costs a question to the upstream later, never the answer now. Rethrows the rest.
 */
export function unlessDiskError(error: unknown): void {
  if (!isDiskError(error)) throw error;
}

/**
 * An error with its causes on one line, for the log (`upstream docker.io unavailable
 * (unreachable): unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`):
 * what an operator needs and a client is never shown.
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (!(current instanceof Error)) {
      parts.push(String(current));
      break;
    }
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  return parts.join(': ');
}

export interface OciErrorInfo {
  code: ErrorCode;
  message: string;
  detail?: unknown;
  headers?: Readonly<Record<string, string>>;
  /**
   * Whose failure the answer reports, for the counters (`stats`' upstreamErrors and storeErrors):
   * the upstream's (unreachable, 5xx, 429, content that did not verify) or the cache's own store.
   * None for everything else: a client's mistake, a refusal, the cache shutting down.
   */
  fault?: 'upstream' | 'store';
}

const REFUSAL_CODES: Readonly<Record<RouteKind, ErrorCode>> = {
  manifest: 'MANIFEST_UNKNOWN',
  blob: 'BLOB_UNKNOWN',
  tags: 'NAME_UNKNOWN',
  base: 'NAME_UNKNOWN',
  other: 'NOT_FOUND',
};

/** Every error, once, to an OCI code; unexpected errors become UNKNOWN without their stack. */
export function toOciError(error: unknown, route: RouteKind): OciErrorInfo {
  if (error instanceof MethodNotAllowedError) return { code: 'UNSUPPORTED', message: error.message, headers: { allow: 'GET, HEAD' } };
  // A route regcache does not serve at all (uploads, the catalog): it allows no method.
  if (isProtocolError(error) && error.code === 'UNSUPPORTED') return { code: error.code, message: error.message, headers: { allow: '' } };
  if (isProtocolError(error)) return { code: error.code, message: error.message, detail: error.detail };
  if (error instanceof RangeNotSatisfiableError) {
    return { code: 'RANGE_INVALID', message: error.message, headers: { 'content-range': `bytes */${error.size}` } };
  }
  if (error instanceof CacheClosedError) return { code: 'UNAVAILABLE', message: error.message };
  if (error instanceof UnknownUpstreamError) return { code: 'NAME_UNKNOWN', message: error.message };
  if (error instanceof RepositoryDeniedError) return { code: 'DENIED', message: error.message };
  if (error instanceof ClientAuthError) {
    return { code: 'UNAUTHORIZED', message: error.message, headers: { 'www-authenticate': basicChallenge(error.realm) } };
  }
  if (error instanceof CredentialChecksBusyError) return { code: 'TOOMANYREQUESTS', message: error.message, headers: { 'retry-after': '1' } };
  if (error instanceof UpstreamRefusedError) return refusal(error, route);
  if (error instanceof ReferrersUnavailableError) return { code: 'MANIFEST_UNKNOWN', message: error.message };
  if (error instanceof UpstreamRateLimitedError) {
    const seconds = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
    return { code: 'TOOMANYREQUESTS', message: error.message, headers: { 'retry-after': seconds }, fault: 'upstream' };
  }
  if (error instanceof UnsupportedManifestError) return { code: 'MANIFEST_INVALID', message: error.message };
  if (error instanceof UpstreamUnavailableError || error instanceof UpstreamContentError) {
    return { code: 'UNAVAILABLE', message: error.message, fault: 'upstream' };
  }
  if (error instanceof BlobNotFoundError) return { code: route === 'manifest' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN', message: error.message };
  if (error instanceof DigestMismatchError || error instanceof SizeMismatchError) {
    return { code: 'UNAVAILABLE', message: 'upstream content did not match its digest or size', fault: 'upstream' };
  }
  if (error instanceof BlobStoreError || levelErrorCode(error) !== undefined) return { code: 'UNAVAILABLE', message: 'the cache store failed', fault: 'store' };
  return { code: 'UNKNOWN', message: 'internal error' };
}

function refusal(error: UpstreamRefusedError, route: RouteKind): OciErrorInfo {
  // Not 401: the client cannot fix it by authenticating to regcache, which never passes the
  // client's credentials on. The upstream wants credentials regcache does not have for this
  // repository — or, as Docker Hub says of a name that does not exist, pretends it does.
  if (error.status === 401) {
    return { code: 'DENIED', message: `upstream ${error.upstream} refused access to this repository: it needs credentials regcache does not have for it, or it does not exist there` };
  }
  if (error.status === 403) return { code: 'DENIED', message: 'the upstream denied access to this repository' };
  const upstreamCode = error.ociCode as ErrorCode | undefined;
  const known: readonly ErrorCode[] = ['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NAME_UNKNOWN', 'NAME_INVALID', 'TAG_INVALID', 'DIGEST_INVALID', 'MANIFEST_INVALID'];
  const code = upstreamCode !== undefined && known.includes(upstreamCode) ? upstreamCode : REFUSAL_CODES[route];
  return { code, message: error.upstreamMessage ?? `${code.toLowerCase().replace(/_/g, ' ')} upstream` };
}
