import { describe, expect, it } from 'vitest';
import {
  contentRange,
  parseLinkNext,
  parseRange,
  parseRepositoryName,
  parseRequestTarget,
  parseTagsList,
  tagsListLink,
  unsatisfiedContentRange,
  type RangeResult,
} from '../src/index.js';

describe('parseRange (RFC 9110 §14.1.2 examples on a 10000-byte representation)', () => {
  it.each<[string | undefined, number, RangeResult]>([
    ['bytes=0-499', 10000, { kind: 'partial', start: 0, end: 499 }],
    ['bytes=500-999', 10000, { kind: 'partial', start: 500, end: 999 }],
    ['bytes=-500', 10000, { kind: 'partial', start: 9500, end: 9999 }],
    ['bytes=9500-', 10000, { kind: 'partial', start: 9500, end: 9999 }],
    ['bytes=0-0', 10000, { kind: 'partial', start: 0, end: 0 }],
    ['bytes=-1', 10000, { kind: 'partial', start: 9999, end: 9999 }],
    ['bytes=0-', 10000, { kind: 'partial', start: 0, end: 9999 }],
    ['bytes=9999-20000', 10000, { kind: 'partial', start: 9999, end: 9999 }],
    ['bytes=-20000', 10000, { kind: 'partial', start: 0, end: 9999 }],
    ['Bytes=1-2', 10000, { kind: 'partial', start: 1, end: 2 }],
    [' bytes = 1-2 ', 10000, { kind: 'partial', start: 1, end: 2 }],
    ['bytes=0-99999999999999999999999', 100, { kind: 'partial', start: 0, end: 99 }],
    ['bytes=10000-', 10000, { kind: 'unsatisfiable' }],
    ['bytes=10000-10001', 10000, { kind: 'unsatisfiable' }],
    ['bytes=99999999999999999999999-', 10000, { kind: 'unsatisfiable' }],
    ['bytes=-0', 10000, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=-5', 0, { kind: 'unsatisfiable' }],
    [undefined, 10000, { kind: 'full' }],
    ['', 10000, { kind: 'full' }],
    ['bytes=', 10000, { kind: 'full' }],
    ['bytes=-', 10000, { kind: 'full' }],
    ['bytes=5-1', 10000, { kind: 'full' }],
    ['bytes=0-1,5-6', 10000, { kind: 'full' }],
    ['bytes=500-600,601-999', 10000, { kind: 'full' }],
    ['items=0-1', 10000, { kind: 'full' }],
    ['bytes=a-b', 10000, { kind: 'full' }],
    ['bytes=1.5-2', 10000, { kind: 'full' }],
    ['bytes=+1-2', 10000, { kind: 'full' }],
    ['bytes 0-1', 10000, { kind: 'full' }],
    ['bytes=0-1', -1, { kind: 'full' }],
    ['bytes=0-1', Number.NaN, { kind: 'full' }],
  ])('%j of %d', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });

  it('Content-Range values (RFC 9110 §14.4)', () => {
    expect(contentRange(0, 9, 100)).toBe('bytes 0-9/100');
    expect(contentRange(42, 1233, 1234)).toBe('bytes 42-1233/1234');
    expect(unsatisfiedContentRange(100)).toBe('bytes */100');
  });
});

describe('parseLinkNext', () => {
  it.each<[string | undefined, string | undefined]>([
    ['</v2/foo/tags/list?n=2&last=b>; rel="next"', '/v2/foo/tags/list?n=2&last=b'],
    ['</v2/_catalog?last=b&n=2>; rel="next"', '/v2/_catalog?last=b&n=2'],
    ['<https://r.example/v2/a/tags/list?n=1&last=x>;rel=next', 'https://r.example/v2/a/tags/list?n=1&last=x'],
    ['<https://r.example/v2/a/tags/list?n=1,2>; rel="next"', 'https://r.example/v2/a/tags/list?n=1,2'],
    ['</prev>; rel="prev", </next>; rel="next"', '/next'],
    ['</both>; rel="prev next"', '/both'],
    ['</x>; title="a;rel=next"; rel="NEXT"', '/x'],
    ['</x>; rel="prev"; rel="next"', undefined],
    ['</x>; rel="nextish"', undefined],
    ['</x>', undefined],
    ['<>; rel="next"', undefined],
    ['<a b>; rel="next"', undefined],
    ['</unterminated; rel="next"', undefined],
    ['garbage, </y>; rel=next', '/y'],
    ['', undefined],
    [undefined, undefined],
  ])('%j', (header, expected) => {
    expect(parseLinkNext(header)).toBe(expected);
  });

  it('tagsListLink builds what distribution sends and what parses back to a tags route', () => {
    const name = parseRepositoryName('library/alpine');
    if (!name.ok) throw new Error('unreachable');
    const link = tagsListLink(name.value, 50, '3.18');
    expect(link).toBe('</v2/library/alpine/tags/list?n=50&last=3.18>; rel="next"');
    const next = parseLinkNext(link);
    const r = parseRequestTarget(next ?? '');
    expect(r.ok && r.value).toEqual({ route: { kind: 'tags', name: 'library/alpine' }, query: { n: 50, last: '3.18' } });
    expect(tagsListLink(name.value, 1, 'a&b=c')).toBe('</v2/library/alpine/tags/list?n=1&last=a%26b%3Dc>; rel="next"');
  });
});

describe('parseTagsList', () => {
  it('reads the spec body', () => {
    expect(parseTagsList('{"name":"library/alpine","tags":["3.18","3.19","latest"]}')).toEqual({
      ok: true,
      value: { name: 'library/alpine', tags: ['3.18', '3.19', 'latest'] },
    });
  });

  it('null or missing tags are an empty list', () => {
    expect(parseTagsList('{"name":"a","tags":null}')).toEqual({ ok: true, value: { name: 'a', tags: [] } });
    expect(parseTagsList('{"name":"a"}')).toEqual({ ok: true, value: { name: 'a', tags: [] } });
  });

  it.each(['', 'nope', '[]', 'null', '{"tags":[]}', '{"name":"a","tags":"x"}', '{"name":"a","tags":[1]}'])(
    'refuses %j',
    (json) => {
      const r = parseTagsList(json);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('UNKNOWN');
    },
  );
});
