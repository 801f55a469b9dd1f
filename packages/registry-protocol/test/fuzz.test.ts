/**
 * Property and fuzz tests: hostile request targets never throw and always end as a route
 * or a 4xx ProtocolError from the table; header and body parsers never throw on anything;
 * every valid generated name, tag and digest round-trips.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  ProtocolError,
  isProtocolError,
  makeDigest,
  parseAccept,
  parseDigest,
  parseLinkNext,
  parseManifest,
  parseRange,
  parseReference,
  parseRepositoryName,
  parseRequestTarget,
  parseTag,
  parseTagsList,
  parseWwwAuthenticate,
  referenceString,
  bearerChallenge,
  tagsListLink,
  type Result,
  type RepositoryName,
} from '../src/index.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, EMPTY_SHA256, OCI_INDEX, OCI_MANIFEST, SPEC_SHA256 } from './fixtures.js';

const ROUTE_KINDS = new Set(['base', 'catalog', 'manifest', 'blob', 'tags', 'upload', 'referrers']);

// ---------------------------------------------------------------- generators of valid values
const alnum = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 8 });
const separator = fc.constantFrom('.', '_', '__', '-', '--', '---');
const component = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 3 })).map(([h, t]) => h + t.map(([s, a]) => s + a).join('')) },
  { weight: 1, arbitrary: fc.constantFrom('blobs', 'manifests', 'tags', 'list', 'uploads', 'referrers', 'v2', 'ghcr.io', 'library') },
);
const validName = fc.array(component, { minLength: 1, maxLength: 8 }).map((c) => c.join('/')).filter((n) => n.length <= 255);
const tagChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-');
const validTag = fc
  .tuple(fc.constantFrom(...'abcXYZ019_'), fc.string({ unit: tagChar, maxLength: 127 }))
  .map(([h, t]) => h + t);
const hexString = (n: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const validDigest = fc.oneof(hexString(64).map((h) => `sha256:${h}`), hexString(128).map((h) => `sha512:${h}`));
const uploadId = fc.string({ unit: fc.constantFrom(...'abcdefABCDEF0123456789-_.='), minLength: 1, maxLength: 40 }).filter((s) => s !== '.' && s !== '..');

const validTarget = fc.oneof(
  fc.constant('/v2/'),
  fc.constant('/v2/_catalog?n=10'),
  fc.tuple(validName, validTag).map(([n, t]) => `/v2/${n}/manifests/${t}`),
  fc.tuple(validName, validDigest).map(([n, d]) => `/v2/${n}/manifests/${d}?ns=docker.io`),
  fc.tuple(validName, validDigest).map(([n, d]) => `/v2/${n}/blobs/${d}`),
  fc.tuple(validName, fc.integer({ min: 0, max: 10000 }), validTag).map(([n, k, t]) => `/v2/${n}/tags/list?n=${k}&last=${t}`),
  fc.tuple(validName, validDigest).map(([n, d]) => `/v2/${n}/referrers/${d}`),
  fc.tuple(validName, uploadId).map(([n, u]) => `/v2/${n}/blobs/uploads/${u}`),
  validName.map((n) => `/v2/${n}/blobs/uploads/`),
);

// ---------------------------------------------------------------- generators of hostile targets
const HOSTILE_FRAGMENTS = [
  'v2', '', '.', '..', '...', '%2e%2e', '%2E%2E', '%2e', '%2F', '%2f', '%252e%252e', '%252F', '%25', '%', '%00', '%u002e',
  '\u0000', '\\', '..\\..', '/', '//', ' ', '\t', '\r\n', '?', '#', ';', ':', '@', '~', '*', '&', '=',
  'manifests', 'blobs', 'uploads', 'tags', 'list', 'referrers', '_catalog', 'library', 'alpine', 'ghcr.io', 'localhost:5000',
  'latest', 'Latest', '-latest', 'a..b', 'a___b', EMPTY_SHA256, SPEC_SHA256, 'sha256:', 'sha256:abc', EMPTY_SHA256.toUpperCase(),
  'caf\u00e9', '\u{1F600}', '\u202e', '\uFEFF', '\uD800', 'a'.repeat(300), '\u0085', '\u2028', '?n=1&last=', '?ns=docker.io',
];
const fragment = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...HOSTILE_FRAGMENTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);
const fragmentPath = fc.tuple(fc.constantFrom('/', '/v2/', '/v2', '', 'v2/', 'http://h/v2/'), fc.array(fragment, { maxLength: 12 }), fc.constantFrom('', '/', '?', '?n=5', '?ns=%zz', '#x'))
  .map(([prefix, parts, suffix]) => prefix + parts.join('/') + suffix);
const overLong = fc.oneof(
  fc.integer({ min: 200, max: 400 }).map((n) => `/v2/${'a'.repeat(n)}/manifests/latest`),
  fc.integer({ min: 8000, max: 9000 }).map((n) => `/v2/library/alpine/manifests/latest?last=${'x'.repeat(n)}`),
  fc.integer({ min: 2000, max: 4500 }).map((n) => `/v2/${'a/'.repeat(n)}tags/list`),
  fc.integer({ min: 100, max: 200 }).map((n) => `/v2/${'../'.repeat(n)}etc/passwd`),
);
const HOSTILE_INSERTS = ['/', '//', '..', '/../', '%2e', '%2F', '\u0000', '\\', ' ', 'A', ':', '?', '#', '%', '\u00e9', '\n'];
const mutated = fc
  .tuple(validTarget, fc.nat(), fc.constantFrom('insert', 'delete', 'replace', 'double-slash', 'upper'), fc.constantFrom(...HOSTILE_INSERTS))
  .map(([t, pos, op, ins]) => {
    const i = pos % (t.length + 1);
    if (op === 'insert') return t.slice(0, i) + ins + t.slice(i);
    if (op === 'delete') return t.slice(0, i) + t.slice(i + 1);
    if (op === 'replace') return t.slice(0, i) + ins + t.slice(i + ins.length);
    if (op === 'double-slash') return t.replace('/', '//');
    return t.toUpperCase();
  });
const hostileTarget = fc.oneof(
  { weight: 3, arbitrary: fragmentPath },
  { weight: 3, arbitrary: mutated },
  { weight: 2, arbitrary: validTarget },
  { weight: 1, arbitrary: overLong },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }).map((s) => `/v2/${s}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }).map((s) => `/v2/${s}/manifests/latest`) },
);

/** Checks one parse outcome; returns whether it was ok. */
function checkOutcome(target: string): boolean {
  let r: ReturnType<typeof parseRequestTarget> | undefined;
  try {
    r = parseRequestTarget(target);
  } catch (e) {
    throw new Error(`parseRequestTarget threw on ${JSON.stringify(target)}: ${String(e)}`);
  }
  if (r.ok) {
    const route = r.value.route;
    if (!ROUTE_KINDS.has(route.kind)) throw new Error(`unknown route kind ${route.kind}`);
    if ('name' in route && !parseRepositoryName(route.name).ok) throw new Error(`route name invalid: ${route.name}`);
    if ('digest' in route && !parseDigest(route.digest).ok) throw new Error('route digest invalid');
    const path = target.split('?', 1)[0] ?? '';
    if (/[%\\\u0000]|\/\.\.?(\/|$)/.test(path)) throw new Error(`hostile path accepted: ${JSON.stringify(target)}`);
    if (target.length > 8192) throw new Error('over-long target accepted');
    return true;
  }
  const e = r.error;
  if (!(e instanceof ProtocolError) || !isProtocolError(e)) throw new Error('error is not a ProtocolError');
  if (!Object.hasOwn(ERROR_CODES, e.code)) throw new Error(`code outside the table: ${e.code}`);
  if (e.status < 400 || e.status > 499) throw new Error(`non-4xx status ${e.status} for ${JSON.stringify(target)}`);
  return false;
}

describe('request target fuzzing', () => {
  it('12,000 random and hostile targets: a route or a 4xx ProtocolError, never a throw', () => {
    let runs = 0;
    let oks = 0;
    fc.assert(
      fc.property(hostileTarget, (target) => {
        runs++;
        if (checkOutcome(target)) oks++;
      }),
      { numRuns: 12_000 },
    );
    expect(runs).toBeGreaterThanOrEqual(12_000);
    // Both outcomes are exercised in bulk.
    expect(oks).toBeGreaterThan(1_000);
    expect(runs - oks).toBeGreaterThan(3_000);
  });

  it('every valid generated target parses', () => {
    fc.assert(fc.property(validTarget, (t) => parseRequestTarget(t).ok), { numRuns: 2_000 });
  });
});

describe('round trips', () => {
  it('names, tags and digests', () => {
    fc.assert(
      fc.property(validName, validTag, validDigest, (n, t, d) => {
        const rn = parseRepositoryName(n);
        const rt = parseTag(t);
        const rd = parseDigest(d);
        const rr = parseReference(t);
        const rrd = parseReference(d);
        return (
          rn.ok && rn.value === n && rt.ok && rt.value === t && rd.ok && rd.value === d &&
          rr.ok && referenceString(rr.value) === t && rrd.ok && referenceString(rrd.value) === d
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('makeDigest agrees with parseDigest', () => {
    fc.assert(
      fc.property(hexString(64), (hex) => {
        const a = makeDigest('sha256', hex);
        const b = parseDigest(`sha256:${hex}`);
        return a.ok && b.ok && a.value === b.value;
      }),
      { numRuns: 500 },
    );
  });

  it('routes give back the name and reference they were built from', () => {
    fc.assert(
      fc.property(validName, validTag, validDigest, (n, t, d) => {
        expect(parseRequestTarget(`/v2/${n}/manifests/${t}`)).toEqual({
          ok: true,
          value: { route: { kind: 'manifest', name: n, reference: { kind: 'tag', tag: t } }, query: {} },
        });
        expect(parseRequestTarget(`/v2/${n}/blobs/${d}`)).toEqual({
          ok: true,
          value: { route: { kind: 'blob', name: n, digest: d }, query: {} },
        });
        expect(parseRequestTarget(`/v2/${n}/tags/list`)).toEqual({ ok: true, value: { route: { kind: 'tags', name: n }, query: {} } });
        expect(parseRequestTarget(`/v2/${n}/referrers/${d}`)).toEqual({
          ok: true,
          value: { route: { kind: 'referrers', name: n, digest: d }, query: {} },
        });
        expect(parseRequestTarget(`/v2/${n}/blobs/uploads/`)).toEqual({ ok: true, value: { route: { kind: 'upload', name: n }, query: {} } });
      }),
      { numRuns: 1_000 },
    );
  });

  it('a tag-list Link parses back to the same page request', () => {
    fc.assert(
      fc.property(validName, fc.integer({ min: 0, max: 10000 }), validTag, (n, k, last) => {
        const next = parseLinkNext(tagsListLink(n as RepositoryName, k, last));
        const r = parseRequestTarget(next ?? '');
        return r.ok && r.value.route.kind === 'tags' && r.value.query.n === k && r.value.query.last === last;
      }),
      { numRuns: 1_000 },
    );
  });

  it('a built Bearer challenge parses back', () => {
    const printable = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~'), minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(printable, printable, printable, (realm, service, scope) => {
        const [c] = parseWwwAuthenticate(bearerChallenge(realm, service, scope));
        return c?.scheme === 'bearer' && c.realm === realm && c.service === service && c.scope === scope;
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('header and body parsers never throw', () => {
  const anyString = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 100 }));
  const headerish = (alphabet: string): fc.Arbitrary<string> =>
    fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 120 });

  it('parseAccept: entries are well-formed and sorted by q', () => {
    const accept = fc.oneof(anyString, headerish('ab/*;q=0.15,"\\ \t'), fc.array(headerish('ab/*;q=01.,'), { maxLength: 4 }));
    fc.assert(
      fc.property(accept, (h) => {
        const entries = parseAccept(h);
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i];
          if (!e || !(e.q >= 0 && e.q <= 1) || !/^[^/]+\/[^/]+$/.test(e.type)) return false;
          if (i > 0 && (entries[i - 1]?.q ?? 1) < e.q) return false;
        }
        return true;
      }),
      { numRuns: 3_000 },
    );
  });

  it('parseWwwAuthenticate: only usable challenges come out', () => {
    const header = fc.oneof(anyString, headerish('BearerBasic realm="x",\\ =t68'), fc.array(anyString, { maxLength: 3 }));
    fc.assert(
      fc.property(header, (h) =>
        parseWwwAuthenticate(h).every((c) => (c.scheme === 'bearer' ? c.realm.length > 0 : c.scheme === 'basic')),
      ),
      { numRuns: 3_000 },
    );
  });

  it('parseRange: partial ranges lie inside the representation', () => {
    const header = fc.oneof(anyString, headerish('bytes=0123456789-, '), fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `bytes=${a}-${b}`));
    fc.assert(
      fc.property(header, fc.oneof(fc.nat(), fc.integer()), (h, size) => {
        const r = parseRange(h, size);
        if (r.kind !== 'partial') return true;
        return Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end) && r.start >= 0 && r.start <= r.end && r.end < size;
      }),
      { numRuns: 3_000 },
    );
  });

  it('parseManifest: random strings, random JSON and mutated manifests', () => {
    const manifests = [DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX];
    const mutatedManifest = fc.tuple(fc.constantFrom(...manifests), fc.nat(), fc.nat({ max: 20 }), fc.string({ maxLength: 5 }))
      .map(([m, pos, del, ins]) => {
        const i = pos % m.length;
        return m.slice(0, i) + ins + m.slice(i + del);
      });
    const input = fc.oneof(anyString, fc.json(), fc.jsonValue().map((v) => JSON.stringify({ schemaVersion: 2, layers: v, config: v, manifests: v })), mutatedManifest);
    fc.assert(
      fc.property(input, fc.option(anyString, { nil: undefined }), (json, ct) => {
        const r: Result<unknown> = parseManifest(json, ct);
        return r.ok || (r.error.code === 'MANIFEST_INVALID' && r.error.status === 400);
      }),
      { numRuns: 3_000 },
    );
  });

  it('parseLinkNext and parseTagsList', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, headerish('<>/;rel="next", ')), (h) => {
        const next = parseLinkNext(h);
        return next === undefined || (next.length > 0 && !/[\s<>]/.test(next));
      }),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.oneof(anyString, fc.json()), (json) => {
        const r = parseTagsList(json);
        return r.ok ? Array.isArray(r.value.tags) : r.error.code === 'UNKNOWN';
      }),
      { numRuns: 2_000 },
    );
  });
});
