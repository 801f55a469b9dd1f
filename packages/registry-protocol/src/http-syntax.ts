/**
 * Small scanners for the RFC 9110 §5.6 header grammar shared by Accept, WWW-Authenticate
 * and Link parsing: tokens (§5.6.2), OWS (§5.6.3), quoted-string (§5.6.4) and lists (§5.6.1).
 * Each returns a new position; none throws or loops without advancing.
 */

const TCHAR_SYMBOLS = "!#$%&'*+-.^_`|~";

/** tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
export function isTchar(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return TCHAR_SYMBOLS.includes(String.fromCharCode(c));
}

/** End of the token starting at pos (pos itself when there is none). */
export function tokenEnd(s: string, pos: number): number {
  let p = pos;
  while (p < s.length && isTchar(s.charCodeAt(p))) p++;
  return p;
}

/** OWS = *( SP / HTAB ) */
export function skipOws(s: string, pos: number): number {
  let p = pos;
  while (p < s.length && (s[p] === ' ' || s[p] === '\t')) p++;
  return p;
}

/** Skips OWS and empty list elements (RFC 9110 §5.6.1 lets recipients ignore them). */
export function skipListSeparators(s: string, pos: number): number {
  let p = pos;
  while (p < s.length && (s[p] === ' ' || s[p] === '\t' || s[p] === ',')) p++;
  return p;
}

/**
 * quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, with s[pos] === '"'.
 * An unterminated string runs to the end of the input (lenient).
 */
export function readQuotedString(s: string, pos: number): { value: string; end: number } {
  let p = pos + 1;
  let value = '';
  while (p < s.length) {
    const c = s[p] ?? '';
    if (c === '"') return { value, end: p + 1 };
    if (c === '\\' && p + 1 < s.length) {
      value += s[p + 1] ?? '';
      p += 2;
      continue;
    }
    value += c;
    p++;
  }
  return { value, end: p };
}

/** A parameter value: token / quoted-string. */
export function readParamValue(s: string, pos: number): { value: string; end: number } {
  if (s[pos] === '"') return readQuotedString(s, pos);
  const end = tokenEnd(s, pos);
  return { value: s.slice(pos, end), end };
}

/** Position of the next top-level ',' (quoted commas skipped), or the end; always > pos unless at a ','. */
export function skipToListSeparator(s: string, pos: number): number {
  let p = pos;
  while (p < s.length && s[p] !== ',') {
    p = s[p] === '"' ? readQuotedString(s, p).end : p + 1;
  }
  return p;
}

/** Normalises header input (one value, several, or none) to a list of strings. */
export function headerValues(header: string | readonly string[] | undefined): string[] {
  if (typeof header === 'string') return [header];
  if (Array.isArray(header)) return header.filter((h): h is string => typeof h === 'string');
  return [];
}

/** Lower-cased `type/subtype` of a Content-Type or media type, parameters dropped. */
export function essenceOf(mediaType: string): string {
  if (typeof mediaType !== 'string') return '';
  const semi = mediaType.indexOf(';');
  return (semi < 0 ? mediaType : mediaType.slice(0, semi)).trim().toLowerCase();
}
