import { describe, expect, it } from 'vitest';
import { noneMatchHits, rangeStillApplies } from '../src/index.js';

const D = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

describe('noneMatchHits (RFC 9110 §13.1.2, weak comparison, against the entity tag "<digest>")', () => {
  it.each<[string | undefined, boolean]>([
    [`"${D}"`, true],
    [`W/"${D}"`, true],
    [`  "${D}"  `, true],
    [`"${OTHER}", "${D}"`, true],
    [`"${OTHER}",W/"${D}"`, true],
    [`, ,"${D}",`, true],
    ['*', true],
    [' * ', true],
    // distribution's manifest handler accepts the digest unquoted, as the whole field
    [D, true],
    [`"${OTHER}"`, false],
    [`"${D.toUpperCase()}"`, false],
    [`"${D}x"`, false],
    [`"sha256:${'a'.repeat(63)}"`, false],
    [`W/ "${D}"`, false],
    [`w/"${D}"`, false],
    [`"${D}`, false],
    [`"${OTHER}" junk, "${D}"`, false],
    [`${D}, "${OTHER}"`, false],
    [`"${D.slice(0, 10)}\\${D.slice(10)}"`, false],
    ['', false],
    [undefined, false],
  ])('%j → %s', (header, hits) => {
    expect(noneMatchHits(header, D)).toBe(hits);
  });
});

describe('rangeStillApplies', () => {
  it.each([
    [undefined, true],
    [`"${D}"`, true],
    [` "${D}" `, true],
    [`W/"${D}"`, false],
    [`"${OTHER}"`, false],
    [D, false],
    ['Sat, 28 Nov 2026 10:00:00 GMT', false],
    ['', false],
  ])('%j → %s', (ifRange, applies) => {
    expect(rangeStillApplies(ifRange, D)).toBe(applies);
  });
});
