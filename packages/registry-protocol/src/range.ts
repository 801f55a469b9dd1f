/**
 * Range requests for one byte range (RFC 9110 §14.1.2, §14.2, §14.4):
 *   Range = ranges-specifier = range-unit "=" range-set ;  range-unit is case-insensitive
 *   int-range = first-pos "-" [ last-pos ] ;  suffix-range = "-" suffix-length
 * A server MAY ignore Range (§14.2), so anything syntactically invalid, an int-range with
 * last-pos < first-pos, another unit, or several ranges is answered in full. A first-pos at
 * or past the end, or a zero suffix, is unsatisfiable (416, §15.5.17).
 */

export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*([0-9]*)-([0-9]*)[ \t]*$/i;
const FULL: RangeResult = Object.freeze({ kind: 'full' });
const UNSATISFIABLE: RangeResult = Object.freeze({ kind: 'unsatisfiable' });

/** Decimal digits as a number; beyond 2^53 the exact value no longer matters, only its size. */
function toNumber(digits: string): number {
  return digits.length > 16 ? Number.MAX_VALUE : Number(digits);
}

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (typeof header !== 'string' || !Number.isSafeInteger(size) || size < 0) return FULL;
  const m = SINGLE_RANGE.exec(header.trim());
  const first = m?.[1] ?? '';
  const last = m?.[2] ?? '';
  if (!m || (first === '' && last === '')) return FULL;
  if (first === '') {
    const suffix = toNumber(last);
    if (suffix === 0 || size === 0) return UNSATISFIABLE;
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = toNumber(first);
  const end = last === '' ? Infinity : toNumber(last);
  if (end < start) return FULL;
  if (start >= size) return UNSATISFIABLE;
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

/** Content-Range for a 206 (RFC 9110 §14.4): `bytes 0-9/100`, end inclusive. */
export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}

/** Content-Range for a 416 (RFC 9110 §14.4): `bytes *\/100`. */
export function unsatisfiedContentRange(size: number): string {
  return `bytes */${size}`;
}
