import { ProtocolError, type ErrorCode } from './errors.js';

/** What every parse function returns: a value, or a typed ProtocolError — never a throw. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function err<T>(code: ErrorCode, message?: string, detail?: unknown): Result<T> {
  return { ok: false, error: new ProtocolError(code, message, detail) };
}

/** Re-wraps an existing error as a Result of another type (to pass a failure on). */
export function fail<T>(error: ProtocolError): Result<T> {
  return { ok: false, error };
}
