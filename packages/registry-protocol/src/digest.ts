/**
 * Content digests. OCI image-spec descriptor.md §Digests gives the general grammar
 * `algorithm ":" encoded`; regcache only accepts the two registered algorithms, whose
 * encoded part MUST be lowercase hex: sha256 `[a-f0-9]{64}`, sha512 `[a-f0-9]{128}`.
 * Anything else (sha384, blake3, uppercase hex, wrong length) is DIGEST_INVALID.
 */
import { err, ok, type Result } from './result.js';

export type DigestAlgorithm = 'sha256' | 'sha512';
export type Digest = string & { readonly __brand: 'Digest' };

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = Object.freeze(['sha256', 'sha512']);

/** Hex length of each algorithm's encoded part (image-spec §Registered algorithms). */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = Object.freeze({
  sha256: 64,
  sha512: 128,
});

const LOWER_HEX = /^[a-f0-9]+$/;
const MAX_DIGEST_LENGTH = 'sha512:'.length + 128;

export function isDigestAlgorithm(s: unknown): s is DigestAlgorithm {
  return s === 'sha256' || s === 'sha512';
}

function hexOk(algorithm: DigestAlgorithm, hex: string): boolean {
  return hex.length === DIGEST_HEX_LENGTH[algorithm] && LOWER_HEX.test(hex);
}

export function parseDigest(input: string): Result<Digest> {
  if (typeof input !== 'string' || input.length > MAX_DIGEST_LENGTH) {
    return err('DIGEST_INVALID', 'invalid digest');
  }
  const colon = input.indexOf(':');
  const algorithm = colon < 0 ? '' : input.slice(0, colon);
  if (!isDigestAlgorithm(algorithm)) {
    return err('DIGEST_INVALID', 'unsupported digest algorithm', { supported: DIGEST_ALGORITHMS });
  }
  if (!hexOk(algorithm, input.slice(colon + 1))) {
    return err('DIGEST_INVALID', `invalid ${algorithm} digest: expected ${DIGEST_HEX_LENGTH[algorithm]} lowercase hex characters`);
  }
  return ok(input as Digest);
}

/** Builds a digest from an algorithm and the hex a hasher produced (must be lowercase). */
export function makeDigest(algorithm: DigestAlgorithm, hex: string): Result<Digest> {
  if (!isDigestAlgorithm(algorithm)) {
    return err('DIGEST_INVALID', 'unsupported digest algorithm', { supported: DIGEST_ALGORITHMS });
  }
  if (typeof hex !== 'string' || !hexOk(algorithm, hex)) {
    return err('DIGEST_INVALID', `invalid ${algorithm} digest: expected ${DIGEST_HEX_LENGTH[algorithm]} lowercase hex characters`);
  }
  return ok(`${algorithm}:${hex}` as Digest);
}

/** Narrowing check without an error value. */
export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && parseDigest(s).ok;
}

export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}
