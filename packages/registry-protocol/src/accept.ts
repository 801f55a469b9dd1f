/**
 * Accept negotiation (RFC 9110 §12.5.1):
 *   Accept = #( media-range [ weight ] ),  media-range = ( "*\/*" / type "/*" / type "/" subtype ) parameters
 *   weight = OWS ";" OWS "q=" qvalue,      qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 * Docker and containerd send several Accept headers and comma lists; both are merged.
 * Malformed elements are skipped, the rest kept.
 */
import { CURRENT_MANIFEST_MEDIA_TYPES, isManifestMediaType } from './media-types.js';
import {
  essenceOf,
  headerValues,
  readParamValue,
  skipListSeparators,
  skipOws,
  skipToListSeparator,
  tokenEnd,
} from './http-syntax.js';

export interface AcceptEntry {
  type: string;
  q: number;
}

const QVALUE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;

/** Reads `;name=value` parameters from pos; returns the weight, or undefined if malformed. */
function readWeight(s: string, start: number): { q: number | undefined; end: number } {
  let p = skipOws(s, start);
  let q: number | undefined = 1;
  while (s[p] === ';') {
    const nameStart = skipOws(s, p + 1);
    const nameEnd = tokenEnd(s, nameStart);
    if (nameEnd === nameStart || s[nameEnd] !== '=') return { q: undefined, end: p };
    const v = readParamValue(s, nameEnd + 1);
    if (s.slice(nameStart, nameEnd).toLowerCase() === 'q') {
      q = QVALUE.test(v.value) ? Number(v.value) : undefined;
      if (q === undefined) return { q, end: v.end };
    }
    p = skipOws(s, v.end);
  }
  return { q, end: p };
}

/** Parses one media-range element at pos; returns the entry (if well-formed) and where it ends. */
function readElement(s: string, pos: number): { entry?: AcceptEntry; end: number } {
  const typeEnd = tokenEnd(s, pos);
  const subEnd = s[typeEnd] === '/' ? tokenEnd(s, typeEnd + 1) : typeEnd;
  const type = s.slice(pos, typeEnd).toLowerCase();
  const subtype = s.slice(typeEnd + 1, subEnd).toLowerCase();
  const wellFormed = typeEnd > pos && subEnd > typeEnd + 1 && (type !== '*' || subtype === '*');
  const w = wellFormed ? readWeight(s, subEnd) : { q: undefined, end: pos };
  const tail = skipOws(s, w.end);
  const atBoundary = tail >= s.length || s[tail] === ',';
  const end = atBoundary ? tail : skipToListSeparator(s, tail);
  if (!wellFormed || w.q === undefined || !atBoundary) return { end };
  return { entry: { type: `${type}/${subtype}`, q: w.q }, end };
}

/** All Accept entries of one or several headers, highest q first (stable). Never throws. */
export function parseAccept(headers: string | readonly string[] | undefined): AcceptEntry[] {
  const entries: AcceptEntry[] = [];
  for (const h of headerValues(headers)) {
    let p = skipListSeparators(h, 0);
    while (p < h.length) {
      const { entry, end } = readElement(h, p);
      if (entry) entries.push(entry);
      p = skipListSeparators(h, Math.max(end, p + 1));
    }
  }
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => b.e.q - a.e.q || a.i - b.i)
    .map(({ e }) => e);
}

/** How specifically a range names a type: 2 exact, 1 `type/*`, 0 `*\/*`, -1 not at all. */
function specificity(range: string, type: string): number {
  if (range === type) return 2;
  if (range === '*/*') return 0;
  const slash = type.indexOf('/');
  return range.endsWith('/*') && range.slice(0, -1) === type.slice(0, slash + 1) ? 1 : -1;
}

/**
 * Whether the client accepts a media type: the most specific matching range decides
 * (RFC 9110 §12.5.1), q=0 means "not acceptable"; no Accept at all accepts anything.
 */
export function acceptsMediaType(entries: readonly AcceptEntry[], mediaType: string): boolean {
  if (entries.length === 0) return true;
  const type = essenceOf(mediaType);
  let best: AcceptEntry | undefined;
  let bestSpec = -1;
  for (const e of entries) {
    const spec = specificity(e.type, type);
    if (spec > bestSpec) {
      best = e;
      bestSpec = spec;
    }
  }
  return best !== undefined && best.q > 0;
}

function formatEntry(e: AcceptEntry): string {
  return e.q === 1 ? e.type : `${e.type};q=${e.q}`;
}

/**
 * The Accept header regcache sends upstream for a manifest: the manifest types the client
 * named (with their q) if it named any with q > 0, else the four current manifest types
 * minus any the client explicitly refused with q=0 (all four if it refused all of them).
 */
export function upstreamManifestAccept(entries: readonly AcceptEntry[]): string {
  const named = entries.filter((e) => e.q > 0 && isManifestMediaType(e.type));
  if (named.length > 0) {
    const firstOfEach = named.filter((e, i) => named.findIndex((o) => o.type === e.type) === i);
    return firstOfEach.map(formatEntry).join(', ');
  }
  const refused = new Set(entries.filter((e) => e.q === 0).map((e) => e.type));
  const wanted = CURRENT_MANIFEST_MEDIA_TYPES.filter((t) => !refused.has(t));
  return (wanted.length > 0 ? wanted : CURRENT_MANIFEST_MEDIA_TYPES).join(', ');
}

/**
 * The entries that speak to manifests: all of them when any names a manifest type or a range
 * that covers one (`*\/*`, `application/*`); none otherwise. `Accept: application/json` or
 * `text/html` on a manifest request was written for something else, and counts as no Accept at
 * all — the same answer whether the tag is cached or not, online or offline.
 */
export function manifestAcceptEntries(entries: readonly AcceptEntry[]): readonly AcceptEntry[] {
  const covers = (e: AcceptEntry): boolean => e.type === '*/*' || e.type === 'application/*' || isManifestMediaType(e.type);
  return entries.some(covers) ? entries : [];
}
