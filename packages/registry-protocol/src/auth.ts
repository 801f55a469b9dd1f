/**
 * WWW-Authenticate (RFC 9110 §11.6.1, formerly RFC 7235 §4.1) and the Docker token-auth
 * flow (distribution docs/spec/auth/token.md):
 *   WWW-Authenticate = #challenge
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 * A comma both separates challenges and parameters; a token followed by "=" is a parameter,
 * any other token starts the next challenge. Only Bearer and Basic are returned.
 */
import type { RepositoryName } from './names.js';
import {
  headerValues,
  readParamValue,
  skipListSeparators,
  skipOws,
  skipToListSeparator,
  tokenEnd,
} from './http-syntax.js';

export type Challenge =
  | { scheme: 'bearer'; realm: string; service?: string; scope?: string; params: Readonly<Record<string, string>> }
  | { scheme: 'basic'; realm?: string; params: Readonly<Record<string, string>> };

interface RawChallenge {
  scheme: string;
  params: Map<string, string>;
}

/** End of a token68 at pos, if that is what stands there (alone up to ',' or the end). */
function token68End(s: string, pos: number): number | undefined {
  // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  const token68 = /[A-Za-z0-9\-._~+/]+=*/y;
  token68.lastIndex = pos;
  const m = token68.exec(s);
  if (!m) return undefined;
  const end = pos + m[0].length;
  const after = skipOws(s, end);
  return after >= s.length || s[after] === ',' ? end : undefined;
}

/** Reads auth-params from pos until a token that is not followed by '=' (the next scheme). */
function readParams(s: string, pos: number, params: Map<string, string>): number {
  let p = pos;
  while (p < s.length) {
    p = skipListSeparators(s, p);
    const nameEnd = tokenEnd(s, p);
    if (nameEnd === p) {
      p = skipToListSeparator(s, p);
      continue;
    }
    const eq = skipOws(s, nameEnd);
    if (s[eq] !== '=') return p;
    const value = readParamValue(s, skipOws(s, eq + 1));
    const name = s.slice(p, nameEnd).toLowerCase();
    if (!params.has(name)) params.set(name, value.value);
    p = value.end;
  }
  return p;
}

function readChallenges(s: string, out: RawChallenge[]): void {
  let p = skipListSeparators(s, 0);
  while (p < s.length) {
    const schemeEnd = tokenEnd(s, p);
    if (schemeEnd === p) {
      p = skipListSeparators(s, skipToListSeparator(s, p));
      continue;
    }
    const challenge: RawChallenge = { scheme: s.slice(p, schemeEnd).toLowerCase(), params: new Map() };
    out.push(challenge);
    p = skipOws(s, schemeEnd);
    if (p > schemeEnd && p < s.length && s[p] !== ',') {
      const t68 = token68End(s, p);
      p = t68 ?? readParams(s, p, challenge.params);
    }
    p = skipListSeparators(s, p);
  }
}

function toChallenge(raw: RawChallenge): Challenge | undefined {
  const params = Object.fromEntries(raw.params) as Record<string, string>;
  const realm = raw.params.get('realm');
  if (raw.scheme === 'basic') return realm === undefined ? { scheme: 'basic', params } : { scheme: 'basic', realm, params };
  if (raw.scheme !== 'bearer' || !realm) return undefined;
  const c: Challenge = { scheme: 'bearer', realm, params };
  const service = raw.params.get('service');
  const scope = raw.params.get('scope');
  if (service !== undefined) c.service = service;
  if (scope !== undefined) c.scope = scope;
  return c;
}

/** Every Bearer (with a realm) and Basic challenge of one or several headers. Never throws. */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): Challenge[] {
  const raw: RawChallenge[] = [];
  for (const h of headerValues(header)) readChallenges(h, raw);
  return raw.map(toChallenge).filter((c): c is Challenge => c !== undefined);
}

/** token.md §Requesting a Token: `scope=repository:<name>:pull`. */
export function pullScope(name: RepositoryName): string {
  return `repository:${name}:pull`;
}

/** A quoted-string with '"' and '\\' escaped; control characters (CR/LF) dropped. */
function quote(value: string): string {
  const clean = String(value).replace(/[\u0000-\u001f\u007f]/g, '');
  return `"${clean.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `Bearer realm="…",service="…",scope="…"` as distribution's token access controller sends it. */
export function bearerChallenge(realm: string, service: string, scope?: string): string {
  const parts = [`realm=${quote(realm)}`, `service=${quote(service)}`];
  if (scope !== undefined) parts.push(`scope=${quote(scope)}`);
  return `Bearer ${parts.join(',')}`;
}

/** `Basic realm="…"` (RFC 7617 §2). */
export function basicChallenge(realm: string): string {
  return `Basic realm=${quote(realm)}`;
}
