/**
 * The /v2/ API surface (OCI distribution-spec v1.1 §Endpoints, end-1 … end-13, plus
 * distribution's /v2/_catalog). The input is the raw request target as it came off the
 * wire; nothing is percent-decoded in the path, so a path that needs decoding is refused.
 */
import { parseDigest, type Digest } from './digest.js';
import {
  parseReference,
  parseRepositoryName,
  type Reference,
  type RepositoryName,
} from './names.js';
import { parseQuery, type Query } from './query.js';
import { err, fail, ok, type Result } from './result.js';

export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'manifest'; name: RepositoryName; reference: Reference }
  | { kind: 'blob'; name: RepositoryName; digest: Digest }
  | { kind: 'tags'; name: RepositoryName }
  | { kind: 'upload'; name: RepositoryName; uploadId?: string }
  | { kind: 'referrers'; name: RepositoryName; digest: Digest };

export type RouteKind = Route['kind'];

export interface RequestTarget {
  route: Route;
  query: Query;
}

/** Longest request target accepted (a generous bound on a 255-char name plus a digest). */
export const MAX_TARGET_LENGTH = 8192;

/** distribution's upload UUID route variable: `[a-zA-Z0-9-_.=]+`. */
const UPLOAD_ID = /^[a-zA-Z0-9._=-]{1,256}$/;
/** RFC 9112 §3.2.2 absolute-form, sent by clients that treat regcache as a proxy. */
const ABSOLUTE_FORM = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/;

/** Printable ASCII except '%' (no decoding is done) and '\\' (no alternate separators). */
function hostileChar(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x25 || c === 0x5c) return true;
  }
  return false;
}

export function parseRequestTarget(target: string): Result<RequestTarget> {
  if (typeof target !== 'string') return err('NAME_INVALID', 'invalid request target');
  if (target.length > MAX_TARGET_LENGTH) {
    return err('NAME_INVALID', `request target longer than ${MAX_TARGET_LENGTH} characters`);
  }
  const origin = ABSOLUTE_FORM.exec(target);
  const rest = origin ? target.slice(origin[0].length) || '/' : target;
  const q = rest.indexOf('?');
  const route = parseRoute(q < 0 ? rest : rest.slice(0, q));
  if (!route.ok) return fail(route.error);
  const rawQuery = q < 0 ? '' : rest.slice(q + 1).split('#', 1)[0] ?? '';
  const query = parseQuery(rawQuery);
  if (!query.ok) return fail(query.error);
  return ok({ route: route.value, query: query.value });
}

/** Parses a path (no query). See the module comment for the rules. */
export function parseRoute(path: string): Result<Route> {
  if (typeof path !== 'string') return err('NAME_INVALID', 'invalid request path');
  if (path.length > MAX_TARGET_LENGTH) {
    return err('NAME_INVALID', `request target longer than ${MAX_TARGET_LENGTH} characters`);
  }
  if (hostileChar(path)) {
    return err('NAME_INVALID', 'request path contains a control, non-ASCII, "%" or "\\" character');
  }
  const parts = path.split('/');
  if (parts.some((p) => p === '.' || p === '..')) {
    return err('NAME_INVALID', 'request path contains a "." or ".." segment');
  }
  if (parts[0] !== '' || parts[1] !== 'v2') return err('NOT_FOUND', 'not a /v2/ path');
  const rest = parts.slice(2);
  if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) return ok({ kind: 'base' });
  if (rest.length === 1 && rest[0] === '_catalog') return ok({ kind: 'catalog' });
  return repositoryRoute(rest);
}

interface Split {
  kind: Exclude<RouteKind, 'base' | 'catalog'>;
  nameParts: string[];
  arg?: string;
}

/**
 * Finds the route by its fixed-length tail. Every route ends in 2 or 3 fixed-shape
 * components, and no path can match two tails, so the split is the rightmost one and
 * names may themselves contain `blobs`, `manifests`, `tags` … as components.
 */
function splitTail(rest: string[]): Split | undefined {
  const n = rest.length;
  const at = (i: number): string | undefined => rest[n + i];
  if (n >= 4 && at(-1) === '' && at(-2) === 'uploads' && at(-3) === 'blobs') {
    return { kind: 'upload', nameParts: rest.slice(0, n - 3) };
  }
  if (n < 3) return undefined;
  const last = at(-1) ?? '';
  const head = rest.slice(0, n - 2);
  if (at(-2) === 'tags' && last === 'list') return { kind: 'tags', nameParts: head };
  if (at(-2) === 'manifests') return { kind: 'manifest', nameParts: head, arg: last };
  if (at(-2) === 'blobs') {
    return last === 'uploads' ? { kind: 'upload', nameParts: head } : { kind: 'blob', nameParts: head, arg: last };
  }
  if (n >= 4 && at(-3) === 'blobs' && at(-2) === 'uploads') {
    return { kind: 'upload', nameParts: rest.slice(0, n - 3), arg: last };
  }
  if (at(-2) === 'referrers') return { kind: 'referrers', nameParts: head, arg: last };
  return undefined;
}

function repositoryRoute(rest: string[]): Result<Route> {
  const split = splitTail(rest);
  const trailingUpload = split?.kind === 'upload' && split.arg === undefined && rest[rest.length - 1] === '';
  const body = trailingUpload ? rest.slice(0, -1) : rest;
  if (body.some((p) => p === '')) return err('NAME_INVALID', 'request path has an empty segment');
  if (!split) return err('NOT_FOUND', 'no /v2/ route matches the request path');
  const name = parseRepositoryName(split.nameParts.join('/'));
  if (!name.ok) return fail(name.error);
  return routeFor(split, name.value);
}

function routeFor(split: Split, name: RepositoryName): Result<Route> {
  const arg = split.arg ?? '';
  switch (split.kind) {
    case 'tags':
      return ok({ kind: 'tags', name });
    case 'manifest': {
      const reference = parseReference(arg);
      return reference.ok ? ok({ kind: 'manifest', name, reference: reference.value }) : fail(reference.error);
    }
    case 'blob':
    case 'referrers': {
      const digest = parseDigest(arg);
      return digest.ok ? ok({ kind: split.kind, name, digest: digest.value }) : fail(digest.error);
    }
    case 'upload':
      if (split.arg === undefined) return ok({ kind: 'upload', name });
      return UPLOAD_ID.test(arg)
        ? ok({ kind: 'upload', name, uploadId: arg })
        : err('BLOB_UPLOAD_INVALID', 'invalid upload id');
  }
}
