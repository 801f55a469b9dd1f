/**
 * The one error table of regcache, after distribution's `registry/api/errcode/register.go`
 * and the OCI distribution spec v1.1 "Error Codes" table (code-1 … code-14).
 * Every failure a client or an upstream can cause is one of these codes.
 */

export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID'
  | 'PAGINATION_NUMBER_INVALID'
  | 'NOT_FOUND'
  | 'UNAVAILABLE'
  | 'UNKNOWN';

export interface ErrorDescriptor {
  readonly status: number;
  readonly message: string;
  readonly description: string;
}

/** Statuses as the OCI spec gives them (distribution's where OCI is silent). */
export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorDescriptor>> = Object.freeze({
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry', description: 'The blob is unknown to the registry in the specified repository.' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid', description: 'The blob upload encountered an error and can no longer proceed.' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry', description: 'The upload was cancelled or never started.' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content', description: 'A digest is malformed, uses an unsupported algorithm, or does not match the content.' },
  MANIFEST_BLOB_UNKNOWN: { status: 404, message: 'manifest references a manifest or blob unknown to registry', description: 'A manifest references a blob or manifest the registry does not have.' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid', description: 'The manifest failed validation; the detail says why.' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry', description: 'The manifest, identified by name and reference, is unknown to the repository.' },
  NAME_INVALID: { status: 400, message: 'invalid repository name', description: 'The repository name, or the request target it came from, is malformed.' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry', description: 'The repository name is unknown to the registry.' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length', description: 'The content length does not match the expected size.' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI', description: 'The tag, or a tag-like parameter, is malformed.' },
  UNAUTHORIZED: { status: 401, message: 'authentication required', description: 'The client must authenticate; see the WWW-Authenticate header.' },
  DENIED: { status: 403, message: 'requested access to the resource is denied', description: 'Access to the resource was denied.' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported', description: 'The operation is not supported; a pull-through cache is read-only.' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests', description: 'The client, or regcache towards its upstream, has been rate limited.' },
  RANGE_INVALID: { status: 416, message: 'invalid content range', description: 'The requested range cannot be satisfied.' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested', description: 'The "n" parameter is not an integer in the allowed range.' },
  NOT_FOUND: { status: 404, message: 'not found', description: 'No route matches the request target (regcache-specific).' },
  UNAVAILABLE: { status: 503, message: 'service unavailable', description: 'The service, or the upstream registry, is not available.' },
  UNKNOWN: { status: 500, message: 'unknown error', description: 'Generic error without an API classification.' },
});

/** Whether a string is one of the table's codes (e.g. a code an upstream sent). */
export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERROR_CODES, s);
}

function descriptorOf(code: ErrorCode): ErrorDescriptor {
  return isErrorCode(code) ? ERROR_CODES[code] : ERROR_CODES.UNKNOWN;
}

/** A typed protocol failure: a code from the table, a message and an optional JSON detail. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly detail?: unknown;

  constructor(code: ErrorCode, message?: string, detail?: unknown) {
    super(message ?? descriptorOf(code).message);
    this.name = 'ProtocolError';
    this.code = isErrorCode(code) ? code : 'UNKNOWN';
    if (detail !== undefined) this.detail = detail;
  }

  get status(): number {
    return descriptorOf(this.code).status;
  }
}

/** True for a ProtocolError, also one made by another copy of this module. */
export function isProtocolError(e: unknown): e is ProtocolError {
  if (e instanceof ProtocolError) return true;
  return (
    e instanceof Error &&
    e.name === 'ProtocolError' &&
    isErrorCode((e as { code?: unknown }).code)
  );
}

/** The HTTP status the spec gives a code; unknown codes are 500 like UNKNOWN. */
export function errorStatus(code: ErrorCode): number {
  return descriptorOf(code).status;
}

/**
 * The OCI error body (spec §Error Codes): `{"errors":[{"code","message","detail"}]}`.
 * `detail` is OPTIONAL in the spec and left out when undefined, as distribution does.
 */
export function errorBody(
  errors: ReadonlyArray<{ code: ErrorCode; message?: string; detail?: unknown }>,
): string {
  const list = errors.map((e) => {
    const code = isErrorCode(e.code) ? e.code : 'UNKNOWN';
    const message = e.message ?? ERROR_CODES[code].message;
    return e.detail === undefined ? { code, message } : { code, message, detail: e.detail };
  });
  return JSON.stringify({ errors: list });
}
