import { describe, expect, it } from 'vitest';
import {
  isNameComponent,
  normalizeDockerHubName,
  parseReference,
  parseRepositoryName,
  parseTag,
  referenceString,
  splitFirstComponent,
  type RepositoryName,
} from '../src/index.js';
import { EMPTY_SHA256 } from './fixtures.js';

function name(s: string): RepositoryName {
  const r = parseRepositoryName(s);
  if (!r.ok) throw new Error(`bad test name ${s}`);
  return r.value;
}

describe('parseRepositoryName (distribution-spec name grammar)', () => {
  it.each([
    'alpine',
    'library/ubuntu',
    'samalba/my-app',
    'foo/bar/baz/qux',
    'a',
    '0',
    'a.b',
    'a_b',
    'a__b',
    'a-b',
    'a--b',
    'a---b',
    'ghcr.io/owner/repo',
    'registry-1.docker.io/library/alpine',
    'my.registry_name/with__double/under-score',
    'blobs/manifests/tags/list',
    'a'.repeat(255),
    `${'a'.repeat(127)}/${'b'.repeat(127)}`,
  ])('accepts %s', (n) => {
    expect(parseRepositoryName(n)).toEqual({ ok: true, value: n });
  });

  it.each([
    ['empty', ''],
    ['uppercase', 'Library/ubuntu'],
    ['leading slash', '/alpine'],
    ['trailing slash', 'alpine/'],
    ['empty component', 'library//alpine'],
    ['leading separator', '-alpine'],
    ['trailing separator', 'alpine-'],
    ['leading dot', '.alpine'],
    ['dot-dot component', 'library/../alpine'],
    ['double dot separator', 'a..b'],
    ['triple underscore', 'a___b'],
    ['mixed separators', 'a._b'],
    ['dash then dot', 'a-.b'],
    ['port in first component', 'localhost:5000/alpine'],
    ['tag suffix', 'alpine:latest'],
    ['at sign', 'alpine@sha256'],
    ['space', 'my app'],
    ['unicode', 'caf\u00e9'],
    ['percent', 'a%2fb'],
    ['backslash', 'a\\b'],
    ['NUL', 'a\u0000b'],
    ['256 characters', 'a'.repeat(256)],
  ])('refuses %s with NAME_INVALID', (_label, n) => {
    const r = parseRepositoryName(n);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('NAME_INVALID');
  });

  it('isNameComponent checks one component', () => {
    expect(isNameComponent('ghcr.io')).toBe(true);
    expect(isNameComponent('a/b')).toBe(false);
    expect(isNameComponent('')).toBe(false);
  });
});

describe('parseTag', () => {
  it.each(['latest', 'v1.0.0', '3.19', '_private', 'A', 'a'.repeat(128), 'sha256-abc.sig', 'UPPER_lower-1.2'])(
    'accepts %s',
    (t) => {
      expect(parseTag(t)).toEqual({ ok: true, value: t });
    },
  );

  it.each([
    ['empty', ''],
    ['leading dot', '.hidden'],
    ['leading dash', '-x'],
    ['129 characters', 'a'.repeat(129)],
    ['colon', 'a:b'],
    ['slash', 'a/b'],
    ['plus (semver build metadata)', '1.0+build'],
    ['space', 'a b'],
    ['unicode', 'v\u00e9'],
  ])('refuses %s with TAG_INVALID', (_label, t) => {
    const r = parseTag(t);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('TAG_INVALID');
  });
});

describe('parseReference', () => {
  it('a tag', () => {
    expect(parseReference('latest')).toEqual({ ok: true, value: { kind: 'tag', tag: 'latest' } });
  });

  it('a digest', () => {
    expect(parseReference(EMPTY_SHA256)).toEqual({ ok: true, value: { kind: 'digest', digest: EMPTY_SHA256 } });
  });

  it('anything with a colon is judged as a digest', () => {
    const r = parseReference('latest:foo');
    expect(!r.ok && r.error.code).toBe('DIGEST_INVALID');
  });

  it('a bad tag is TAG_INVALID', () => {
    const r = parseReference('-bad');
    expect(!r.ok && r.error.code).toBe('TAG_INVALID');
  });

  it('referenceString inverts it', () => {
    for (const s of ['latest', EMPTY_SHA256]) {
      const r = parseReference(s);
      expect(r.ok && referenceString(r.value)).toBe(s);
    }
  });
});

describe('Docker Hub names and upstream prefixes', () => {
  it.each([
    ['alpine', 'library/alpine'],
    ['library/alpine', 'library/alpine'],
    ['bitnami/redis', 'bitnami/redis'],
    ['a/b/c', 'a/b/c'],
  ])('normalizeDockerHubName(%s) = %s', (input, expected) => {
    expect(normalizeDockerHubName(name(input))).toBe(expected);
  });

  it('splitFirstComponent', () => {
    expect(splitFirstComponent(name('ghcr.io/org/img'))).toEqual({ first: 'ghcr.io', rest: 'org/img' });
    expect(splitFirstComponent(name('docker.io/alpine'))).toEqual({ first: 'docker.io', rest: 'alpine' });
    expect(splitFirstComponent(name('alpine'))).toBeUndefined();
    const split = splitFirstComponent(name('quay.io/a/b/c'));
    expect(split && parseRepositoryName(split.rest).ok).toBe(true);
  });
});
