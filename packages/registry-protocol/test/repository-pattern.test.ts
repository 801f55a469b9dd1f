import { describe, expect, it } from 'vitest';
import {
  normalizeDockerHubPattern,
  parseRepositoryName,
  parseRepositoryPattern,
  repositoryMatcher,
  type RepositoryName,
  type RepositoryPattern,
} from '../src/index.js';

function pattern(s: string): RepositoryPattern {
  const r = parseRepositoryPattern(s);
  if (!r.ok) throw new Error(`bad test pattern ${s}: ${r.error.message}`);
  return r.value;
}

function name(s: string): RepositoryName {
  const r = parseRepositoryName(s);
  if (!r.ok) throw new Error(`bad test name ${s}`);
  return r.value;
}

const matches = (patterns: string[], candidate: string): boolean => repositoryMatcher(patterns.map(pattern))(name(candidate));

describe('parseRepositoryPattern', () => {
  it.each(['library/alpine', 'library/*', 'myorg/**', '**', '**/nginx', 'a/**/b', 'myorg/app-*', '*-base', 'x.*', '*', 'a__*'])('accepts %s', (s) => {
    expect(parseRepositoryPattern(s)).toEqual({ ok: true, value: s });
  });

  it.each([
    ['', 'empty'],
    ['Library/alpine', 'not a name component'],
    ['library//alpine', 'not a name component'],
    ['/library', 'not a name component'],
    ['library/', 'not a name component'],
    ['a..b', 'not a name component'],
    ['-x', 'not a name component'],
    ['a/**b', '** must be a whole component'],
    ['***', '** must be a whole component'],
    ['a b', 'not a name component'],
    ['a/?', 'not a name component'],
    ['x'.repeat(256), 'longer than 255'],
  ])('refuses %j with NAME_INVALID (%s)', (s, why) => {
    const r = parseRepositoryPattern(s);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('NAME_INVALID');
    expect(r.error.message).toContain(why);
  });

  it('refuses what is not a string without throwing', () => {
    expect(parseRepositoryPattern(undefined as unknown as string).ok).toBe(false);
  });
});

describe('repositoryMatcher', () => {
  it('matches a plain pattern exactly', () => {
    expect(matches(['library/alpine'], 'library/alpine')).toBe(true);
    expect(matches(['library/alpine'], 'library/alpine2')).toBe(false);
    expect(matches(['library/alpine'], 'library/alpine/x')).toBe(false);
    expect(matches(['library/alpine'], 'x/library/alpine')).toBe(false);
  });

  it('* stays inside one component', () => {
    expect(matches(['library/*'], 'library/alpine')).toBe(true);
    expect(matches(['library/*'], 'library/a.b_c-d')).toBe(true);
    expect(matches(['library/*'], 'library/alpine/extra')).toBe(false);
    expect(matches(['library/*'], 'library')).toBe(false);
    expect(matches(['*'], 'alpine')).toBe(true);
    expect(matches(['*'], 'library/alpine')).toBe(false);
  });

  it('* mixes with the characters around it', () => {
    expect(matches(['myorg/app-*'], 'myorg/app-web')).toBe(true);
    expect(matches(['myorg/app-*'], 'myorg/api-web')).toBe(false);
    expect(matches(['*-base'], 'node-base')).toBe(true);
    expect(matches(['*-base'], 'node-based')).toBe(false);
  });

  it('a dot in a pattern is a dot, not any character', () => {
    expect(matches(['a.b'], 'a.b')).toBe(true);
    expect(matches(['a.b'], 'axb')).toBe(false);
  });

  it('** is one or more whole components, anywhere', () => {
    expect(matches(['myorg/**'], 'myorg/a')).toBe(true);
    expect(matches(['myorg/**'], 'myorg/a/b/c')).toBe(true);
    expect(matches(['myorg/**'], 'myorg')).toBe(false);
    expect(matches(['myorg/**'], 'myorgx/a')).toBe(false);
    expect(matches(['**/nginx'], 'bitnami/nginx')).toBe(true);
    expect(matches(['**/nginx'], 'a/b/nginx')).toBe(true);
    expect(matches(['**/nginx'], 'nginx')).toBe(false);
    expect(matches(['**/nginx'], 'bitnami/nginx-x')).toBe(false);
    expect(matches(['a/**/b'], 'a/x/y/b')).toBe(true);
    expect(matches(['a/**/b'], 'a/b')).toBe(false);
    expect(matches(['**'], 'anything/at/all')).toBe(true);
  });

  it('any of several patterns; none of none', () => {
    expect(matches(['library/*', 'myorg/**'], 'myorg/x/y')).toBe(true);
    expect(matches(['library/*', 'myorg/**'], 'other/x')).toBe(false);
    expect(repositoryMatcher([])(name('library/alpine'))).toBe(false);
  });
});

describe('normalizeDockerHubPattern', () => {
  it('gives a one-component pattern the library/ namespace, as names get it', () => {
    expect(normalizeDockerHubPattern(pattern('alpine'))).toBe('library/alpine');
    expect(normalizeDockerHubPattern(pattern('*'))).toBe('library/*');
    expect(normalizeDockerHubPattern(pattern('node-*'))).toBe('library/node-*');
  });

  it('leaves ** (every repository) and namespaced patterns alone', () => {
    expect(normalizeDockerHubPattern(pattern('**'))).toBe('**');
    expect(normalizeDockerHubPattern(pattern('bitnami/*'))).toBe('bitnami/*');
    expect(normalizeDockerHubPattern(pattern('**/nginx'))).toBe('**/nginx');
  });
});
