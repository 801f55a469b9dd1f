import { describe, expect, it } from 'vitest';
import { parseRequestTarget, parseRoute, type ErrorCode, type Route } from '../src/index.js';
import { EMPTY_SHA256, EMPTY_SHA512, SPEC_SHA256 } from './fixtures.js';

const D = SPEC_SHA256;

function route(target: string): Route {
  const r = parseRequestTarget(target);
  if (!r.ok) throw new Error(`${target}: ${r.error.code} ${r.error.message}`);
  return r.value.route;
}

function code(target: string): ErrorCode | undefined {
  const r = parseRequestTarget(target);
  return r.ok ? undefined : r.error.code;
}

describe('routes from the distribution-spec endpoint table', () => {
  it.each<[string, string, unknown]>([
    ['end-1', '/v2/', { kind: 'base' }],
    ['end-1 without slash', '/v2', { kind: 'base' }],
    ['catalog', '/v2/_catalog', { kind: 'catalog' }],
    ['end-2 blob', `/v2/library/alpine/blobs/${D}`, { kind: 'blob', name: 'library/alpine', digest: D }],
    ['end-2 sha512 blob', `/v2/a/blobs/${EMPTY_SHA512}`, { kind: 'blob', name: 'a', digest: EMPTY_SHA512 }],
    [
      'end-3 manifest by tag',
      '/v2/library/ubuntu/manifests/latest',
      { kind: 'manifest', name: 'library/ubuntu', reference: { kind: 'tag', tag: 'latest' } },
    ],
    [
      'end-3 manifest by digest',
      `/v2/samalba/my-app/manifests/${D}`,
      { kind: 'manifest', name: 'samalba/my-app', reference: { kind: 'digest', digest: D } },
    ],
    ['end-4a upload start', '/v2/foo/bar/blobs/uploads/', { kind: 'upload', name: 'foo/bar' }],
    ['upload start without slash', '/v2/foo/bar/blobs/uploads', { kind: 'upload', name: 'foo/bar' }],
    [
      'end-5 upload chunk',
      '/v2/foo/blobs/uploads/c6b8a3e2-0b6a-4d3f-9d53-3e0a1f7b9c21',
      { kind: 'upload', name: 'foo', uploadId: 'c6b8a3e2-0b6a-4d3f-9d53-3e0a1f7b9c21' },
    ],
    ['end-8a tags', '/v2/library/alpine/tags/list', { kind: 'tags', name: 'library/alpine' }],
    ['end-12a referrers', `/v2/foo/referrers/${D}`, { kind: 'referrers', name: 'foo', digest: D }],
    [
      'upstream prefix',
      '/v2/ghcr.io/owner/repo/manifests/v1.2.3',
      { kind: 'manifest', name: 'ghcr.io/owner/repo', reference: { kind: 'tag', tag: 'v1.2.3' } },
    ],
  ])('%s: %s', (_label, target, expected) => {
    expect(route(target)).toEqual(expected);
  });
});

describe('names containing route words: the rightmost split wins', () => {
  it.each<[string, unknown]>([
    [
      '/v2/a/blobs/b/manifests/latest',
      { kind: 'manifest', name: 'a/blobs/b', reference: { kind: 'tag', tag: 'latest' } },
    ],
    ['/v2/manifests/blobs/tags/list', { kind: 'tags', name: 'manifests/blobs' }],
    ['/v2/tags/list/tags/list', { kind: 'tags', name: 'tags/list' }],
    [`/v2/a/manifests/blobs/${D}`, { kind: 'blob', name: 'a/manifests', digest: D }],
    [
      '/v2/x/tags/manifests/list',
      { kind: 'manifest', name: 'x/tags', reference: { kind: 'tag', tag: 'list' } },
    ],
    ['/v2/x/blobs/uploads/blobs/uploads/', { kind: 'upload', name: 'x/blobs/uploads' }],
    ['/v2/a/blobs/uploads/uploads', { kind: 'upload', name: 'a', uploadId: 'uploads' }],
    [`/v2/referrers/referrers/${D}`, { kind: 'referrers', name: 'referrers', digest: D }],
    [
      '/v2/v2/manifests/manifests',
      { kind: 'manifest', name: 'v2', reference: { kind: 'tag', tag: 'manifests' } },
    ],
  ])('%s', (target, expected) => {
    expect(route(target)).toEqual(expected);
  });
});

describe('refused targets', () => {
  it.each<[string, string, ErrorCode]>([
    ['not under /v2', '/', 'NOT_FOUND'],
    ['other root path', '/metrics', 'NOT_FOUND'],
    ['v1 API', '/v1/_ping', 'NOT_FOUND'],
    ['uppercase prefix', '/V2/', 'NOT_FOUND'],
    ['prefix lookalike', '/v2x/foo/manifests/latest', 'NOT_FOUND'],
    ['relative', 'v2/foo/manifests/latest', 'NOT_FOUND'],
    ['empty', '', 'NOT_FOUND'],
    ['asterisk-form', '*', 'NOT_FOUND'],
    ['no marker', '/v2/foo/bar', 'NOT_FOUND'],
    ['extra trailing component', '/v2/foo/manifests/latest/extra', 'NOT_FOUND'],
    ['catalog with extra component', '/v2/_catalog/extra', 'NOT_FOUND'],
    ['no name', '/v2/manifests/latest', 'NOT_FOUND'],
    ['traversal', '/v2/../etc/passwd', 'NAME_INVALID'],
    ['traversal in name', '/v2/library/../alpine/manifests/latest', 'NAME_INVALID'],
    ['traversal as reference', '/v2/library/alpine/manifests/..', 'NAME_INVALID'],
    ['dot segment', '/v2/./foo/manifests/latest', 'NAME_INVALID'],
    ['traversal before /v2', '/../v2/', 'NAME_INVALID'],
    ['percent-encoded dots', '/v2/%2e%2e/foo/manifests/latest', 'NAME_INVALID'],
    ['percent-encoded slash', '/v2/library%2Falpine/manifests/latest', 'NAME_INVALID'],
    ['double encoding', '/v2/%252e%252e/manifests/latest', 'NAME_INVALID'],
    ['percent in tag', '/v2/foo/manifests/lat%65st', 'NAME_INVALID'],
    ['NUL', '/v2/foo\u0000/manifests/latest', 'NAME_INVALID'],
    ['backslash', '/v2/foo\\bar/manifests/latest', 'NAME_INVALID'],
    ['newline', '/v2/foo/manifests/latest\r\nX-Injected: 1', 'NAME_INVALID'],
    ['space', '/v2/foo bar/manifests/latest', 'NAME_INVALID'],
    ['unicode', '/v2/caf\u00e9/manifests/latest', 'NAME_INVALID'],
    ['empty component', '/v2/library//alpine/manifests/latest', 'NAME_INVALID'],
    ['double slash after v2', '/v2//', 'NAME_INVALID'],
    ['trailing slash', '/v2/foo/manifests/latest/', 'NAME_INVALID'],
    ['trailing slash on tags', '/v2/foo/tags/list/', 'NAME_INVALID'],
    ['empty reference', '/v2/foo/manifests/', 'NAME_INVALID'],
    ['uppercase name', '/v2/Library/alpine/manifests/latest', 'NAME_INVALID'],
    ['name with port', '/v2/localhost:5000/foo/manifests/latest', 'NAME_INVALID'],
    ['name of 256 characters', `/v2/${'a'.repeat(256)}/manifests/latest`, 'NAME_INVALID'],
    ['catalog as a name', '/v2/_catalog/manifests/latest', 'NAME_INVALID'],
    ['bad tag', '/v2/foo/manifests/-latest', 'TAG_INVALID'],
    ['tag of 129 characters', `/v2/foo/manifests/${'a'.repeat(129)}`, 'TAG_INVALID'],
    ['tag with junk', '/v2/foo/manifests/latest;rm', 'TAG_INVALID'],
    ['bad manifest digest', '/v2/foo/manifests/sha256:abc', 'DIGEST_INVALID'],
    ['bad blob digest', '/v2/foo/blobs/latest', 'DIGEST_INVALID'],
    ['uppercase digest', `/v2/foo/blobs/${EMPTY_SHA256.toUpperCase()}`, 'DIGEST_INVALID'],
    ['digest with junk', `/v2/foo/blobs/${EMPTY_SHA256}x`, 'DIGEST_INVALID'],
    ['bad referrers digest', '/v2/foo/referrers/latest', 'DIGEST_INVALID'],
    ['bad upload id', '/v2/foo/blobs/uploads/a:b', 'BLOB_UPLOAD_INVALID'],
    ['over-long target', `/v2/foo/manifests/latest?x=${'a'.repeat(8200)}`, 'NAME_INVALID'],
  ])('%s: %j → %s', (_label, target, expected) => {
    expect(code(target)).toBe(expected);
  });

  it('checks the name before the reference', () => {
    expect(code('/v2/Foo/manifests/-bad')).toBe('NAME_INVALID');
  });

  it('parseRoute refuses a query in the path and over-long paths', () => {
    const r = parseRoute('/v2/foo/manifests/latest?n=1');
    expect(!r.ok && r.error.code).toBe('TAG_INVALID');
    const long = parseRoute(`/v2/${'a/'.repeat(5000)}manifests/latest`);
    expect(!long.ok && long.error.code).toBe('NAME_INVALID');
  });

  it('errors are ProtocolErrors with a 4xx status', () => {
    const r = parseRequestTarget('/v2/%2e%2e/');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.status).toBe(400);
      expect(r.error.name).toBe('ProtocolError');
    }
  });
});

describe('query parameters', () => {
  it('end-8b pagination', () => {
    const r = parseRequestTarget('/v2/library/alpine/tags/list?n=100&last=3.18');
    expect(r).toEqual({
      ok: true,
      value: { route: { kind: 'tags', name: 'library/alpine' }, query: { n: 100, last: '3.18' } },
    });
  });

  it("containerd's ns parameter", () => {
    const r = parseRequestTarget('/v2/library/alpine/manifests/latest?ns=docker.io');
    expect(r.ok && r.value.query).toEqual({ ns: 'docker.io' });
    const port = parseRequestTarget('/v2/foo/manifests/latest?ns=Registry.Example.COM:5000');
    expect(port.ok && port.value.query).toEqual({ ns: 'registry.example.com:5000' });
    const v6 = parseRequestTarget('/v2/foo/manifests/latest?ns=[::1]:5000');
    expect(v6.ok && v6.value.query).toEqual({ ns: '[::1]:5000' });
  });

  it('end-4b / end-6 digest parameter, upload state ignored', () => {
    const r = parseRequestTarget(`/v2/foo/blobs/uploads/abc-123?_state=eyJhIjoxfQ%3D%3D&digest=${D}`);
    expect(r).toEqual({
      ok: true,
      value: { route: { kind: 'upload', name: 'foo', uploadId: 'abc-123' }, query: { digest: D } },
    });
  });

  it('end-11 mount parameters are recognised as an upload and otherwise ignored', () => {
    const r = parseRequestTarget(`/v2/foo/blobs/uploads/?mount=${D}&from=bar`);
    expect(r.ok && r.value).toEqual({ route: { kind: 'upload', name: 'foo' }, query: {} });
  });

  it('end-12b: keeps a referrers artifactType filter only when it is a media type', () => {
    const typed = parseRequestTarget(`/v2/foo/referrers/${D}?artifactType=application%2Fvnd.example.sbom.v1%2Bjson`);
    expect(typed.ok && typed.value.query).toEqual({ artifactType: 'application/vnd.example.sbom.v1+json' });
    for (const bad of ['', 'sbom', 'a/b/c', 'text/pl%0Ain', `x/${'y'.repeat(200)}`]) {
      const r = parseRequestTarget(`/v2/foo/referrers/${D}?artifactType=${bad}`);
      expect(r.ok && r.value.query, bad).toEqual({});
    }
  });

  it('percent-decodes query values, first occurrence wins, fragment dropped', () => {
    const r = parseRequestTarget('/v2/foo/tags/list?last=v1%2B2&n=5&n=abc&last=zzz#frag');
    expect(r.ok && r.value.query).toEqual({ n: 5, last: 'v1+2' });
    const plus = parseRequestTarget('/v2/foo/tags/list?last=a+b');
    expect(plus.ok && plus.value.query.last).toBe('a b');
  });

  it.each<[string, number | undefined]>([
    ['n=0', 0],
    ['n=10000', 10_000],
    ['n=007', 7],
  ])('%s is fine', (q, n) => {
    const r = parseRequestTarget(`/v2/foo/tags/list?${q}`);
    expect(r.ok && r.value.query.n).toBe(n);
  });

  it.each<[string, ErrorCode]>([
    ['n=10001', 'PAGINATION_NUMBER_INVALID'],
    ['n=-1', 'PAGINATION_NUMBER_INVALID'],
    ['n=1e3', 'PAGINATION_NUMBER_INVALID'],
    ['n=', 'PAGINATION_NUMBER_INVALID'],
    ['n', 'PAGINATION_NUMBER_INVALID'],
    ['n=%20', 'PAGINATION_NUMBER_INVALID'],
    ['n=99999999999999999999999', 'PAGINATION_NUMBER_INVALID'],
    ['n=0x10', 'PAGINATION_NUMBER_INVALID'],
    [`last=${'a'.repeat(257)}`, 'TAG_INVALID'],
    ['last=a%00b', 'TAG_INVALID'],
    ['last=a%0d%0ab', 'TAG_INVALID'],
    ['last=%zz', 'TAG_INVALID'],
    ['ns=', 'NAME_INVALID'],
    ['ns=docker.io/evil', 'NAME_INVALID'],
    ['ns=-docker.io', 'NAME_INVALID'],
    ['ns=docker..io', 'NAME_INVALID'],
    ['ns=docker.io:0', 'NAME_INVALID'],
    ['ns=docker.io:70000', 'NAME_INVALID'],
    ['ns=user@docker.io', 'NAME_INVALID'],
    [`ns=${'a'.repeat(254)}`, 'NAME_INVALID'],
    ['digest=sha256:abc', 'DIGEST_INVALID'],
  ])('%s → %s', (q, expected) => {
    expect(code(`/v2/foo/tags/list?${q}`)).toBe(expected);
  });

  it('unknown parameters, even malformed ones, are ignored', () => {
    const r = parseRequestTarget('/v2/foo/tags/list?x=%zz&=1&&y&%zz=3');
    expect(r.ok && r.value.query).toEqual({});
  });
});

describe('absolute-form targets (RFC 9112 §3.2.2)', () => {
  it('are reduced to their path and query', () => {
    const r = parseRequestTarget('http://registry.local:5000/v2/foo/manifests/latest?ns=docker.io');
    expect(r.ok && r.value).toEqual({
      route: { kind: 'manifest', name: 'foo', reference: { kind: 'tag', tag: 'latest' } },
      query: { ns: 'docker.io' },
    });
    expect(code('https://example.com')).toBe('NOT_FOUND');
  });
});
