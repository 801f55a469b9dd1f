/** HTTP/1.1 responses read off raw sockets, by the tests that speak to the server byte by byte. */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { ACCEPT_ALL_MANIFESTS } from '@regcache/testkit';

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

/** One keep-alive connection that sends raw heads and reads one answer per head (Content-Length bodies; none for HEAD). */
export async function openClient(address: string): Promise<{ ask(head: string): Promise<RawResponse>; socket: Socket }> {
  const [host, port] = address.split(':');
  const socket = connect(Number(port), host);
  await once(socket, 'connect');
  let pending = Buffer.alloc(0);
  let wake: () => void = () => undefined;
  socket.on('data', (c: Buffer) => {
    pending = Buffer.concat([pending, c]);
    wake();
  });
  const ask = async (head: string): Promise<RawResponse> => {
    socket.write(head, 'latin1');
    for (;;) {
      const next = responseAt(pending, 0, head.startsWith('HEAD '));
      if (next !== undefined) {
        pending = pending.subarray(next.end);
        return next.response;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  return { ask, socket };
}

export const head = (method: string, path: string, extra = ''): string => `${method} ${path} HTTP/1.1\r\nHost: cache\r\nAccept: ${ACCEPT_ALL_MANIFESTS}\r\n${extra}\r\n`;
