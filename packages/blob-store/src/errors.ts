/**
 * Domain errors of the blob store. They describe what went wrong with the store, never how
 * to answer an HTTP client: proxy-core maps them to OCI error codes in one place.
 * Every error has a stable `code` so callers can switch without `instanceof`.
 */
import type { Digest } from '@regcache/registry-protocol';

export type BlobStoreErrorCode =
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'BLOB_NOT_FOUND'
  | 'STORE_LOCKED'
  | 'STORE_WRITE'
  | 'STORE_ACCESS'
  | 'STORE_CLOSED'
  | 'WRITER_CLOSED';

/** Base class of every error the store throws on purpose. */
export class BlobStoreError extends Error {
  override readonly name: string = 'BlobStoreError';
  readonly code: BlobStoreErrorCode;

  constructor(code: BlobStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The bytes written do not hash to the digest they were written under. */
export class DigestMismatchError extends BlobStoreError {
  override readonly name = 'DigestMismatchError';
  constructor(
    readonly expected: Digest,
    readonly actual: string,
  ) {
    super('DIGEST_MISMATCH', `content digest ${actual} does not match expected ${expected}`);
  }
}

/** More bytes than announced arrived, or fewer by the time of commit (a truncated body). */
export class SizeMismatchError extends BlobStoreError {
  override readonly name = 'SizeMismatchError';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super('SIZE_MISMATCH', `blob size ${actual} does not match expected size ${expected}`);
  }
}

/** No committed blob with this digest is on disk. */
export class BlobNotFoundError extends BlobStoreError {
  override readonly name = 'BlobNotFoundError';
  constructor(
    readonly digest: Digest,
    options?: { cause?: unknown },
  ) {
    super('BLOB_NOT_FOUND', `blob ${digest} not found`, options);
  }
}

/** Another process (or another store instance) has the LevelDB index open. */
export class StoreLockedError extends BlobStoreError {
  override readonly name = 'StoreLockedError';
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(
      'STORE_LOCKED',
      `blob store index ${path} is locked by another process: a regcache server using this store (reach it through its admin API), or a regcache-admin command working on it offline (wait for it to finish)`,
      options,
    );
  }
}

/** Writing to disk failed (ENOSPC, EIO, EROFS, EDQUOT, …); `cause` is the system error. */
export class StoreWriteError extends BlobStoreError {
  override readonly name = 'StoreWriteError';
  readonly errno: string | undefined;
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const errno = errnoOf(cause);
    super('STORE_WRITE', `writing ${path} failed${errno === undefined ? '' : ` (${errno})`}`, { cause });
    this.errno = errno;
  }
}

/** The store's root (or a directory in it) cannot be created, written, or is misplaced. */
export class StoreAccessError extends BlobStoreError {
  override readonly name = 'StoreAccessError';
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('STORE_ACCESS', `blob store directory ${path} is not usable: ${reason}`, options);
  }
}

/** The `code` of a Node system error (ENOENT, ENOSPC, …), if it is one. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** True for "no such file or directory". */
export function isNotFound(error: unknown): boolean {
  return errnoOf(error) === 'ENOENT';
}

export function isBlobStoreError(error: unknown): error is BlobStoreError {
  return error instanceof BlobStoreError;
}
