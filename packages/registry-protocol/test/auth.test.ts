import { describe, expect, it } from 'vitest';
import {
  basicChallenge,
  bearerChallenge,
  parseRepositoryName,
  parseWwwAuthenticate,
  pullScope,
} from '../src/index.js';

describe('parseWwwAuthenticate: Docker token-auth examples', () => {
  it('token.md: the challenge for samalba/my-app (comma inside the quoted scope)', () => {
    const header =
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"';
    expect(parseWwwAuthenticate(header)).toEqual([
      {
        scheme: 'bearer',
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:samalba/my-app:pull,push',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:samalba/my-app:pull,push',
        },
      },
    ]);
  });

  it('token.md: insufficient_scope error parameter is kept in params', () => {
    const [c] = parseWwwAuthenticate(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push",error="insufficient_scope"',
    );
    expect(c?.scheme).toBe('bearer');
    expect(c?.params.error).toBe('insufficient_scope');
  });

  it('Docker Hub /v2/ (no scope) and ghcr.io', () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"')).toEqual([
      {
        scheme: 'bearer',
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io' },
      },
    ]);
    const [g] = parseWwwAuthenticate('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"');
    expect(g).toMatchObject({ realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:user/image:pull' });
  });

  it('distribution htpasswd: Basic realm', () => {
    expect(parseWwwAuthenticate('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', realm: 'Registry Realm', params: { realm: 'Registry Realm' } },
    ]);
    expect(parseWwwAuthenticate('Basic')).toEqual([{ scheme: 'basic', params: {} }]);
  });
});

describe('parseWwwAuthenticate: RFC 7235 grammar', () => {
  it('RFC 7235 §4.1 example: two challenges in one header, escaped quotes', () => {
    const header = 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"';
    expect(parseWwwAuthenticate(header)).toEqual([{ scheme: 'basic', realm: 'simple', params: { realm: 'simple' } }]);
  });

  it('several headers, several challenges, unknown schemes skipped', () => {
    const out = parseWwwAuthenticate([
      'Negotiate, NTLM',
      'Negotiate YIIJvwYGKwYBBQUCoIIJszCCCa+gJDAiBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICCg==, Basic realm="b"',
      'Bearer realm="https://t.example/token", service="svc"',
    ]);
    expect(out.map((c) => [c.scheme, c.realm])).toEqual([
      ['basic', 'b'],
      ['bearer', 'https://t.example/token'],
    ]);
  });

  it('scheme and parameter names are case-insensitive, BWS around "=" allowed', () => {
    const [c] = parseWwwAuthenticate('BEARER Realm = "https://x/t" , SERVICE=svc,Scope="a b"');
    expect(c).toEqual({
      scheme: 'bearer',
      realm: 'https://x/t',
      service: 'svc',
      scope: 'a b',
      params: { realm: 'https://x/t', service: 'svc', scope: 'a b' },
    });
  });

  it('first occurrence of a parameter wins; __proto__ is a plain key', () => {
    const [c] = parseWwwAuthenticate('Bearer realm="a", realm="b", __proto__="x"');
    expect(c?.realm).toBe('a');
    expect(Object.getPrototypeOf(c?.params)).toBe(Object.prototype);
    expect(Object.hasOwn(c?.params ?? {}, '__proto__')).toBe(true);
  });

  it('a Bearer challenge without a realm is unusable and skipped', () => {
    expect(parseWwwAuthenticate('Bearer service="x"')).toEqual([]);
    expect(parseWwwAuthenticate('Bearer realm=""')).toEqual([]);
  });

  it.each([
    ['undefined', undefined],
    ['empty', ''],
    ['only commas', ',,, ,'],
    ['garbage', '@@@ === """'],
    ['unterminated quote', 'Bearer realm="https://x'],
    ['non-array object', {} as unknown as string],
  ])('%s yields no usable challenge and no throw', (_label, header) => {
    const out = parseWwwAuthenticate(header);
    expect(Array.isArray(out)).toBe(true);
  });

  it('unterminated quoted strings run to the end (lenient)', () => {
    expect(parseWwwAuthenticate('Bearer realm="https://x')).toMatchObject([{ realm: 'https://x' }]);
  });
});

describe('building challenges and scopes', () => {
  it('pullScope', () => {
    const n = parseRepositoryName('library/alpine');
    expect(n.ok && pullScope(n.value)).toBe('repository:library/alpine:pull');
  });

  it('bearerChallenge / basicChallenge quote and escape', () => {
    expect(bearerChallenge('https://regcache.local/token', 'regcache', 'repository:library/alpine:pull')).toBe(
      'Bearer realm="https://regcache.local/token",service="regcache",scope="repository:library/alpine:pull"',
    );
    expect(bearerChallenge('r', 's')).toBe('Bearer realm="r",service="s"');
    expect(basicChallenge('say "hi" \\ bye')).toBe('Basic realm="say \\"hi\\" \\\\ bye"');
    expect(basicChallenge('a\r\nSet-Cookie: x')).toBe('Basic realm="aSet-Cookie: x"');
  });

  it('what is built parses back', () => {
    const realm = 'https://x/"quoted", \\slash';
    const [c] = parseWwwAuthenticate(bearerChallenge(realm, 'svc,1', 'repository:a/b:pull'));
    expect(c).toMatchObject({ scheme: 'bearer', realm, service: 'svc,1', scope: 'repository:a/b:pull' });
    expect(parseWwwAuthenticate(basicChallenge(realm))).toMatchObject([{ scheme: 'basic', realm }]);
  });
});
