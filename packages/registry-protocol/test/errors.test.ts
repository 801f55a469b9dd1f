import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  ProtocolError,
  err,
  errorBody,
  errorStatus,
  fail,
  isErrorCode,
  isProtocolError,
  ok,
  type ErrorCode,
} from '../src/index.js';

const STATUSES: Record<ErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
  PAGINATION_NUMBER_INVALID: 400,
  NOT_FOUND: 404,
  UNAVAILABLE: 503,
  UNKNOWN: 500,
};

describe('error table', () => {
  it('has exactly the codes of the API, each with the status the spec gives it', () => {
    expect(Object.keys(ERROR_CODES).sort()).toEqual(Object.keys(STATUSES).sort());
    for (const [code, status] of Object.entries(STATUSES)) {
      expect(ERROR_CODES[code as ErrorCode].status, code).toBe(status);
      expect(errorStatus(code as ErrorCode), code).toBe(status);
      expect(ERROR_CODES[code as ErrorCode].message.length).toBeGreaterThan(0);
      expect(ERROR_CODES[code as ErrorCode].description.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['BLOB_UNKNOWN', 'blob unknown to registry'],
    ['BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry'],
    ['DIGEST_INVALID', 'provided digest did not match uploaded content'],
    ['MANIFEST_INVALID', 'manifest invalid'],
    ['NAME_INVALID', 'invalid repository name'],
    ['NAME_UNKNOWN', 'repository name not known to registry'],
    ['SIZE_INVALID', 'provided length did not match content length'],
    ['UNAUTHORIZED', 'authentication required'],
    ['DENIED', 'requested access to the resource is denied'],
    ['TOOMANYREQUESTS', 'too many requests'],
    ['PAGINATION_NUMBER_INVALID', 'invalid number of results requested'],
  ] as const)('%s has the spec message', (code, message) => {
    expect(ERROR_CODES[code].message).toBe(message);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(ERROR_CODES)).toBe(true);
  });

  it('isErrorCode knows the table and nothing else', () => {
    expect(isErrorCode('NAME_INVALID')).toBe(true);
    expect(isErrorCode('name_invalid')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('__proto__')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });
});

describe('ProtocolError', () => {
  it('carries code, status, default message and detail', () => {
    const e = new ProtocolError('MANIFEST_UNKNOWN', undefined, { tag: 'latest' });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ProtocolError');
    expect(e.code).toBe('MANIFEST_UNKNOWN');
    expect(e.status).toBe(404);
    expect(e.message).toBe('manifest unknown to registry');
    expect(e.detail).toEqual({ tag: 'latest' });
    expect(new ProtocolError('DENIED', 'nope').message).toBe('nope');
  });

  it('an unknown code at run time degrades to UNKNOWN / 500', () => {
    const e = new ProtocolError('BOGUS' as ErrorCode);
    expect(e.code).toBe('UNKNOWN');
    expect(e.status).toBe(500);
    expect(errorStatus('BOGUS' as ErrorCode)).toBe(500);
  });

  it('isProtocolError recognises instances and copies from another module instance', () => {
    expect(isProtocolError(new ProtocolError('DENIED'))).toBe(true);
    const foreign = Object.assign(new Error('x'), { name: 'ProtocolError', code: 'DENIED' });
    expect(isProtocolError(foreign)).toBe(true);
    expect(isProtocolError(Object.assign(new Error('x'), { name: 'ProtocolError', code: 'NOPE' }))).toBe(false);
    expect(isProtocolError(new Error('x'))).toBe(false);
    expect(isProtocolError({ code: 'DENIED' })).toBe(false);
    expect(isProtocolError(undefined)).toBe(false);
  });
});

describe('Result helpers', () => {
  it('ok / err / fail', () => {
    expect(ok(3)).toEqual({ ok: true, value: 3 });
    const e = err<number>('SIZE_INVALID', 'bad size', { size: -1 });
    expect(e.ok).toBe(false);
    if (!e.ok) {
      expect(e.error.code).toBe('SIZE_INVALID');
      expect(e.error.message).toBe('bad size');
      expect(e.error.detail).toEqual({ size: -1 });
      expect(fail<string>(e.error)).toEqual({ ok: false, error: e.error });
    }
  });
});

describe('errorBody', () => {
  it('is the OCI error JSON with the table message by default', () => {
    const body = JSON.parse(errorBody([{ code: 'UNSUPPORTED' }])) as unknown;
    expect(body).toEqual({ errors: [{ code: 'UNSUPPORTED', message: ERROR_CODES.UNSUPPORTED.message }] });
  });

  it('keeps several errors in order, with messages and details', () => {
    const text = errorBody([
      { code: 'NAME_UNKNOWN', message: 'repository name not known to registry', detail: { name: 'foo/bar' } },
      { code: 'MANIFEST_UNKNOWN', detail: 'tag "x"' },
    ]);
    expect(JSON.parse(text)).toEqual({
      errors: [
        { code: 'NAME_UNKNOWN', message: 'repository name not known to registry', detail: { name: 'foo/bar' } },
        { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown to registry', detail: 'tag "x"' },
      ],
    });
  });

  it('accepts ProtocolError values directly', () => {
    const e = new ProtocolError('DIGEST_INVALID', 'invalid digest', { digest: 'sha256:zz' });
    expect(JSON.parse(errorBody([e]))).toEqual({
      errors: [{ code: 'DIGEST_INVALID', message: 'invalid digest', detail: { digest: 'sha256:zz' } }],
    });
  });

  it('never emits a code outside the table', () => {
    expect(JSON.parse(errorBody([{ code: 'EVIL"}' as ErrorCode }]))).toEqual({
      errors: [{ code: 'UNKNOWN', message: 'unknown error' }],
    });
  });
});
