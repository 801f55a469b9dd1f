/**
 * The HTTP/1.1 text of plain-get.ts: the request it writes and the response head it reads.
 * Deliberately narrow — a GET on a kept-alive connection (plain-connections.ts), and a response
 * whose body is framed by Content-Length, by chunked coding (chunked.ts) or by the end of the
 * connection. Anything
 * else (another transfer coding, an interim 1xx) is `PlainGetUnsupportedError`, and the
 * client asks again through undici.
 */

/** The response uses framing this reader does not do; undici should take the request. */
export class PlainGetUnsupportedError extends Error {
  override readonly name = 'PlainGetUnsupportedError';
}

/** Not an HTTP/1.x response head this reader can trust. */
export class PlainGetProtocolError extends Error {
  override readonly name = 'PlainGetProtocolError';
}

const MAX_HEAD_BYTES = 64 * 1024;

export interface PlainHead {
  statusCode: number;
  /** Lower-case names; a repeated header becomes an array, as undici gives it. */
  headers: Record<string, string | string[]>;
  framing: Framing;
  /** HTTP/1.1 without `Connection: close`: the connection may serve another request after the body. */
  persistent: boolean;
}

/** How the body ends: after Content-Length bytes, at the last chunk, or with the connection. */
export type Framing = { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const UNSAFE_VALUE = /[\r\n\0]/;

/** `GET path HTTP/1.1` with Host and the given headers (HTTP/1.1 keeps the connection open). */
export function requestText(url: URL, headers: Readonly<Record<string, string>>): string {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) {
    // Values come from config and token servers: never let one smuggle a second header line.
    if (!TOKEN.test(name) || UNSAFE_VALUE.test(value)) throw new PlainGetProtocolError(`request header ${name} cannot be sent`);
    lines.push(`${name}: ${value}`);
  }
  lines.push('', '');
  return lines.join('\r\n');
}

/** Parses a head (without its final blank line); throws the errors above. */
export function parseHead(text: string): PlainHead {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(statusLine);
  if (status === null) throw new PlainGetProtocolError('upstream answered something that is not an HTTP/1.x status line');
  const statusCode = Number(status[2]);
  if (statusCode < 200) throw new PlainGetUnsupportedError(`interim ${statusCode} response`);
  const headers: Record<string, string | string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : '';
    if (!TOKEN.test(name)) throw new PlainGetProtocolError('malformed response header line');
    const value = line.slice(colon + 1).trim();
    const seen = headers[name];
    headers[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  const persistent = status[1] === '1' && !listItems(headers.connection).some((token) => token.toLowerCase() === 'close');
  return { statusCode, headers, framing: framing(statusCode, headers), persistent };
}

function framing(statusCode: number, headers: Record<string, string | string[]>): Framing {
  if (statusCode === 204 || statusCode === 304) return { kind: 'length', length: 0 };
  const coding = headers['transfer-encoding'];
  if (coding === undefined) {
    const length = contentLength(headers['content-length']);
    return length === undefined ? { kind: 'close' } : { kind: 'length', length };
  }
  // Both framings at once is how responses get smuggled (RFC 9112 §6.3): refuse it.
  if (headers['content-length'] !== undefined) throw new PlainGetProtocolError('both Transfer-Encoding and Content-Length');
  if (typeof coding === 'string' && coding.trim().toLowerCase() === 'chunked') return { kind: 'chunked' };
  throw new PlainGetUnsupportedError(`transfer coding ${String(coding)}`);
}

/** The comma-separated items of a header sent once or more, trimmed. */
function listItems(value: string | string[] | undefined): string[] {
  return (Array.isArray(value) ? value : [value ?? '']).flatMap((v) => v.split(',')).map((v) => v.trim());
}

function contentLength(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const values = new Set(listItems(value));
  const [only] = values;
  if (values.size !== 1 || only === undefined || !/^\d{1,15}$/.test(only)) throw new PlainGetProtocolError('bad Content-Length');
  return Number(only);
}

/**
 * Collects a response head across reads (a copy: the reads' buffers go back to their pool):
 * undefined until the blank line has come, then the parsed head and the body bytes after it.
 * Throws PlainGetProtocolError past 64 KiB, and whatever parseHead throws.
 */
export function createHeadCollector(): (bytes: Buffer) => { head: PlainHead; rest: Buffer } | undefined {
  let pending = Buffer.alloc(0);
  return (bytes) => {
    pending = Buffer.concat([pending, bytes]);
    const end = pending.indexOf('\r\n\r\n');
    if ((end < 0 ? pending.length : end) > MAX_HEAD_BYTES) throw new PlainGetProtocolError(`response head over ${MAX_HEAD_BYTES} bytes`);
    if (end < 0) return undefined;
    return { head: parseHead(pending.subarray(0, end).toString('latin1')), rest: pending.subarray(end + 4) };
  };
}
