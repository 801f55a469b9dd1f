/** HTTP/1.1 responses read off raw sockets, by the tests that speak to the server byte by byte. */

export interface RawResponse {
  status: number;
  /** Names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The response that starts at `at` in `stream`, and the offset just past it; undefined while it
 * is not all there. Bodies are framed by Content-Length; a HEAD's answer has none.
 */
export function responseAt(stream: Buffer, at: number, isHead: boolean): { response: RawResponse; end: number } | undefined {
  const headEnd = stream.indexOf('\r\n\r\n', at);
  if (headEnd < 0) return undefined;
  const [statusLine = '', ...lines] = stream.toString('latin1', at, headEnd).split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const end = headEnd + 4 + (isHead ? 0 : Number(headers['content-length'] ?? 0));
  if (stream.length < end) return undefined;
  return { response: { status: Number(statusLine.split(' ')[1]), headers, body: stream.subarray(headEnd + 4, end) }, end };
}
