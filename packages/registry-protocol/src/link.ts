/**
 * Tag-list pagination (distribution-spec §Listing Tags, end-8b) and its RFC 8288 Link header:
 *   Link       = #link-value
 *   link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
 * The next page is named by `rel="next"`; rel may hold several space-separated types and
 * only its first occurrence counts (RFC 8288 §3.3).
 */
import type { RepositoryName } from './names.js';
import { err, ok, type Result } from './result.js';
import {
  readParamValue,
  skipListSeparators,
  skipOws,
  skipToListSeparator,
  tokenEnd,
} from './http-syntax.js';

/** Reads `; name=value` link-params from pos; returns the rel value types and the end. */
function readLinkParams(s: string, pos: number): { rels: string[] | undefined; end: number } {
  let p = skipOws(s, pos);
  let rels: string[] | undefined;
  while (s[p] === ';') {
    const nameStart = skipOws(s, p + 1);
    const nameEnd = tokenEnd(s, nameStart);
    const eq = skipOws(s, nameEnd);
    if (nameEnd === nameStart || s[eq] !== '=') return { rels, end: nameEnd };
    const value = readParamValue(s, skipOws(s, eq + 1));
    if (rels === undefined && s.slice(nameStart, nameEnd).toLowerCase() === 'rel') {
      rels = value.value.toLowerCase().split(/[ \t]+/);
    }
    p = skipOws(s, value.end);
  }
  return { rels, end: p };
}

/** The URI-reference of the first `rel="next"` link, or undefined. Never throws. */
export function parseLinkNext(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  let p = skipListSeparators(header, 0);
  while (p < header.length) {
    if (header[p] !== '<') {
      p = skipListSeparators(header, skipToListSeparator(header, p));
      continue;
    }
    const close = header.indexOf('>', p + 1);
    if (close < 0) return undefined;
    const uri = header.slice(p + 1, close).trim();
    const { rels, end } = readLinkParams(header, close + 1);
    if (rels?.includes('next') && uri !== '' && !/[\s<>]/.test(uri)) return uri;
    p = skipListSeparators(header, skipToListSeparator(header, Math.max(end, p + 1)));
  }
  return undefined;
}

/** The Link header of a truncated tag list: `</v2/<name>/tags/list?n=<n>&last=<last>>; rel="next"`. */
export function tagsListLink(name: RepositoryName, n: number, last: string): string {
  return `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}

/**
 * A tag list body `{"name": "<name>", "tags": ["<tag>", …]}`. Some registries send
 * `"tags": null` for an empty repository; that reads as no tags. Anything else malformed
 * is UNKNOWN: it only ever comes from an upstream, never from a client.
 */
export function parseTagsList(json: string): Result<{ name: string; tags: string[] }> {
  let body: unknown;
  try {
    body = JSON.parse(typeof json === 'string' ? json : '');
  } catch {
    return err('UNKNOWN', 'tag list is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return err('UNKNOWN', 'tag list is not an object');
  const { name, tags } = body as { name?: unknown; tags?: unknown };
  if (typeof name !== 'string') return err('UNKNOWN', 'tag list has no name');
  if (tags === null || tags === undefined) return ok({ name, tags: [] });
  if (!Array.isArray(tags) || !tags.every((t): t is string => typeof t === 'string')) {
    return err('UNKNOWN', 'tag list tags must be an array of strings');
  }
  return ok({ name, tags: [...tags] });
}
