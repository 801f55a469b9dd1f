import { describe, expect, it } from 'vitest';
import {
  DIGEST_ALGORITHMS,
  digestAlgorithm,
  digestHex,
  isDigest,
  isDigestAlgorithm,
  makeDigest,
  parseDigest,
  type DigestAlgorithm,
} from '../src/index.js';
import { EMPTY_SHA256, EMPTY_SHA512, SPEC_SHA256 } from './fixtures.js';

describe('parseDigest', () => {
  it.each([EMPTY_SHA256, SPEC_SHA256, EMPTY_SHA512])('accepts %s', (d) => {
    const r = parseDigest(d);
    expect(r).toEqual({ ok: true, value: d });
  });

  it.each([
    ['empty', ''],
    ['no algorithm', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['uppercase hex', EMPTY_SHA256.toUpperCase().replace('SHA256', 'sha256')],
    ['uppercase algorithm', EMPTY_SHA256.replace('sha256', 'SHA256')],
    ['short', EMPTY_SHA256.slice(0, -1)],
    ['long', `${EMPTY_SHA256}0`],
    ['sha512 with a sha256 length', `sha512:${EMPTY_SHA256.slice(7)}`],
    ['sha256 with a sha512 length', `sha256:${EMPTY_SHA512.slice(7)}`],
    ['sha384 (registered elsewhere, unsupported here)', `sha384:${'a'.repeat(96)}`],
    ['blake3', `blake3:${'a'.repeat(64)}`],
    ['non-hex', `sha256:${'g'.repeat(64)}`],
    ['two colons', `sha256:${'a'.repeat(32)}:${'a'.repeat(31)}`],
    ['trailing newline', `${EMPTY_SHA256}\n`],
    ['leading space', ` ${EMPTY_SHA256}`],
    ['algorithm with separator (spec grammar allows, regcache does not)', `sha256+b64u:${'a'.repeat(64)}`],
  ])('refuses %s with DIGEST_INVALID', (_label, d) => {
    const r = parseDigest(d);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('DIGEST_INVALID');
      expect(r.error.status).toBe(400);
    }
  });

  it('does not throw on non-strings', () => {
    expect(parseDigest(undefined as unknown as string).ok).toBe(false);
    expect(parseDigest(42 as unknown as string).ok).toBe(false);
  });
});

describe('makeDigest and accessors', () => {
  it('builds and splits digests', () => {
    const hex = EMPTY_SHA256.slice(7);
    const r = makeDigest('sha256', hex);
    expect(r).toEqual({ ok: true, value: EMPTY_SHA256 });
    if (r.ok) {
      expect(digestAlgorithm(r.value)).toBe('sha256');
      expect(digestHex(r.value)).toBe(hex);
    }
    const r512 = parseDigest(EMPTY_SHA512);
    if (!r512.ok) throw new Error('unreachable');
    expect(digestAlgorithm(r512.value)).toBe('sha512');
    expect(digestHex(r512.value)).toHaveLength(128);
  });

  it('refuses bad hex and unknown algorithms', () => {
    expect(makeDigest('sha256', 'ABC').ok).toBe(false);
    expect(makeDigest('sha256', EMPTY_SHA256.slice(7).toUpperCase()).ok).toBe(false);
    expect(makeDigest('md5' as DigestAlgorithm, 'a'.repeat(32)).ok).toBe(false);
    expect(makeDigest('sha512', EMPTY_SHA256.slice(7)).ok).toBe(false);
  });

  it('isDigest / isDigestAlgorithm / DIGEST_ALGORITHMS', () => {
    expect(isDigest(EMPTY_SHA256)).toBe(true);
    expect(isDigest('sha256:abc')).toBe(false);
    expect(isDigest(null)).toBe(false);
    expect(isDigestAlgorithm('sha512')).toBe(true);
    expect(isDigestAlgorithm('sha1')).toBe(false);
    expect(DIGEST_ALGORITHMS).toEqual(['sha256', 'sha512']);
  });
});
