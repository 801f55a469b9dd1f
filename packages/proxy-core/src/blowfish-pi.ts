/**
 * Blowfish's initial state: the P-array (18 words) and four S-boxes (4 × 256 words) are the
 * fractional hexadecimal digits of π, in order (P[0] = 0x243F6A88, S0[0] = 0xD1310BA6).
 * Rather than carry a 1042-word table, the digits are computed once with Machin's formula
 * in BigInt fixed point (π = 16·atan(1/5) − 4·atan(1/239)), which takes a few milliseconds,
 * and each caller gets a fresh copy to mutate.
 */
const P_WORDS = 18;
const S_WORDS = 4 * 256;
const WORDS = P_WORDS + S_WORDS;
/** Extra low bits that absorb the truncation error of thousands of series terms. */
const GUARD_BITS = 64;
const BITS = BigInt(WORDS * 32 + GUARD_BITS);

let digits: Uint32Array | undefined;

/** atan(1/x) scaled by 2^BITS, by its Taylor series. */
function atanInverse(x: bigint): bigint {
  const x2 = x * x;
  let term = (1n << BITS) / x;
  let sum = 0n;
  for (let k = 0n; term !== 0n; k++) {
    const part = term / (2n * k + 1n);
    sum = k % 2n === 0n ? sum + part : sum - part;
    term /= x2;
  }
  return sum;
}

function computeDigits(): Uint32Array {
  const pi = 16n * atanInverse(5n) - 4n * atanInverse(239n);
  const fraction = pi - (3n << BITS);
  const out = new Uint32Array(WORDS);
  for (let i = 0; i < WORDS; i++) {
    const shift = BITS - BigInt((i + 1) * 32);
    out[i] = Number((fraction >> shift) & 0xffffffffn);
  }
  return out;
}

/** A fresh, mutable copy of Blowfish's initial P-array and S-boxes (S0..S3 concatenated). */
export function blowfishInitialState(): { p: Uint32Array; s: Uint32Array } {
  digits ??= computeDigits();
  return { p: digits.slice(0, P_WORDS), s: digits.slice(P_WORDS) };
}
