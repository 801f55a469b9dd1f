/**
 * If-None-Match (RFC 9110 §13.1.2) against a content-addressed representation, whose entity
 * tag is its digest in quotes (`ETag: "sha256:…"`, as distribution sends):
 *
 *   If-None-Match = "*" / #entity-tag
 *   entity-tag    = [ weak ] opaque-tag ;  weak = %s"W/" ;  opaque-tag = DQUOTE *etagc DQUOTE
 *
 * The comparison is the weak one (§8.8.3.2: a `W/` prefix is ignored), as §13.1.2 requires.
 * A bare digest without quotes also matches: distribution's manifest handler accepts it, and a
 * client written against distribution may send it. `*` matches any representation that exists
 * — the caller only asks once it knows this one does. Anything that is not this grammar
 * matches nothing: answering 200 in full is always a correct answer to a conditional request.
 *
 * If-Range (§13.1.5) with the same entity tag: the Range applies only when it is exactly this
 * representation's strong tag. A weak tag, another tag or a date (regcache sends no
 * Last-Modified to match one against) means: the client's partial copy may be of something
 * else — the whole representation, 200.
 */
import { skipListSeparators, skipOws } from './http-syntax.js';

/** Whether `header` (If-None-Match; Node joins repeated fields with ", ") names `digest`'s entity tag. */
export function noneMatchHits(header: string | undefined, digest: string): boolean {
  if (header === undefined) return false;
  const value = header.trim();
  if (value === '') return false;
  if (value === '*' || value === digest) return true;
  let pos = skipListSeparators(value, 0);
  while (pos < value.length) {
    if (value.startsWith('W/', pos)) pos += 2;
    // etagc has no escapes and no DQUOTE: the tag runs to the next one, which must be there.
    const close = value[pos] === '"' ? value.indexOf('"', pos + 1) : -1;
    if (close < 0) return false;
    if (value.slice(pos + 1, close) === digest) return true;
    pos = skipOws(value, close + 1);
    if (pos < value.length && value[pos] !== ',') return false;
    pos = skipListSeparators(value, pos);
  }
  return false;
}

/** Whether a Range still applies under `ifRange` (the If-Range field): absent, or exactly `"<digest>"`. */
export function rangeStillApplies(ifRange: string | undefined, digest: string): boolean {
  return ifRange === undefined || ifRange.trim() === `"${digest}"`;
}
