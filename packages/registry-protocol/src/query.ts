/**
 * The query parameters regcache reads from a /v2/ request target:
 *  - `ns`     containerd's mirror namespace (hosts.toml sends `?ns=docker.io`): a host name
 *             with an optional `:port` (RFC 1123 labels, or a bracketed IPv6 literal), <= 253 chars.
 *  - `n`,`last` tag-list pagination (distribution-spec §Listing Tags): `n` a decimal integer.
 *  - `digest` the digest parameter of upload completion / mount requests.
 *  - `artifactType` the referrers filter (distribution-spec §Listing Referrers): a media type
 *             (type/subtype, RFC 6838 characters, <= 255 chars); anything else is dropped — a
 *             registry MAY ignore the filter, and the client then filters itself.
 * Decoding follows application/x-www-form-urlencoded (`+` is a space, %XX escapes);
 * unknown parameters are ignored and, for a repeated parameter, the first one wins.
 */
import { parseDigest, type Digest } from './digest.js';
import { err, fail, ok, type Result } from './result.js';

export interface Query {
  ns?: string;
  n?: number;
  last?: string;
  digest?: Digest;
  artifactType?: string;
}

export const MAX_PAGE_SIZE = 10_000;
export const MAX_LAST_LENGTH = 256;
const MAX_HOST_LENGTH = 253;

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]+\\])(?::([0-9]{1,5}))?$`);
const DECIMAL = /^[0-9]+$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** Decodes one form-urlencoded component; undefined when its escapes are malformed. */
function decodeComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Splits a raw query into decoded pairs, the first occurrence of each key kept. */
function queryPairs(raw: string): Map<string, string | undefined> {
  const pairs = new Map<string, string | undefined>();
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    if (key === undefined || pairs.has(key)) continue;
    pairs.set(key, decodeComponent(eq < 0 ? '' : part.slice(eq + 1)));
  }
  return pairs;
}

/** A registry host name with optional port, lower-cased (host names are case-insensitive). */
export function parseNamespace(value: string | undefined): Result<string> {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_HOST_LENGTH) {
    return err('NAME_INVALID', 'invalid ns parameter: expected a registry host name');
  }
  const host = value.toLowerCase();
  const m = HOST.exec(host);
  const port = m?.[1];
  if (!m || (port !== undefined && (Number(port) < 1 || Number(port) > 65_535))) {
    return err('NAME_INVALID', 'invalid ns parameter: expected a registry host name');
  }
  return ok(host);
}

/** `n`: a decimal integer 0..10000 (distribution: PAGINATION_NUMBER_INVALID otherwise). */
export function parsePageSize(value: string | undefined): Result<number> {
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    return err('PAGINATION_NUMBER_INVALID', 'invalid n parameter: expected a decimal integer');
  }
  const digits = value.replace(/^0+(?=.)/, '');
  const n = digits.length > 5 ? Infinity : Number(digits);
  if (n > MAX_PAGE_SIZE) {
    return err('PAGINATION_NUMBER_INVALID', `invalid n parameter: at most ${MAX_PAGE_SIZE}`);
  }
  return ok(n);
}

/** `last`: an opaque tag-ish marker, bounded and free of control characters. */
export function parseLast(value: string | undefined): Result<string> {
  if (typeof value !== 'string' || value.length > MAX_LAST_LENGTH || CONTROL.test(value)) {
    return err('TAG_INVALID', 'invalid last parameter');
  }
  return ok(value);
}

/** Parses the raw query string (without the leading '?'). */
export function parseQuery(raw: string): Result<Query> {
  const pairs = queryPairs(typeof raw === 'string' ? raw : '');
  const query: Query = {};
  if (pairs.has('ns')) {
    const r = parseNamespace(pairs.get('ns'));
    if (!r.ok) return fail(r.error);
    query.ns = r.value;
  }
  if (pairs.has('n')) {
    const r = parsePageSize(pairs.get('n'));
    if (!r.ok) return fail(r.error);
    query.n = r.value;
  }
  if (pairs.has('last')) {
    const r = parseLast(pairs.get('last'));
    if (!r.ok) return fail(r.error);
    query.last = r.value;
  }
  if (pairs.has('digest')) {
    const r = parseDigest(pairs.get('digest') ?? '');
    if (!r.ok) return fail(r.error);
    query.digest = r.value;
  }
  const artifactType = pairs.get('artifactType');
  if (artifactType !== undefined && MEDIA_TYPE.test(artifactType)) query.artifactType = artifactType;
  return ok(query);
}
