/**
 * What node:http does with bytes it cannot parse, with one exception: bytes after a request
 * that said `Connection: close`. RFC 9112 §9.6 forbids a client to send them, but some do
 * (a pipelining client, a proxy that reuses what it should not), and node:http's default then
 * answers the request before them with a bare 400 — or, when that answer has begun, cuts it.
 * nginx answers the request and discards the rest; so does this: the request before them is
 * answered whole, and node:http closes the connection after it, as `Connection: close` asked.
 *
 * Everything else is node:http's own default, unchanged (a listener replaces it, so it is
 * written out here): 431 for headers over the limit, 413 for chunk extensions over it, 408
 * for a request not received in time, 400 otherwise — each only when no answer has begun on
 * the connection — and the connection destroyed.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

const bare = (status: string): Buffer => Buffer.from(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`, 'ascii');

const ANSWERS: Readonly<Record<string, Buffer>> = {
  HPE_HEADER_OVERFLOW: bare('431 Request Header Fields Too Large'),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: bare('413 Payload Too Large'),
  ERR_HTTP_REQUEST_TIMEOUT: bare('408 Request Timeout'),
};
const BAD_REQUEST = bare('400 Bad Request');

/** The connection's answer in progress, as node:http keeps it on the socket. */
type HttpSocket = Duplex & { _httpMessage?: { headersSent: boolean } | null };

function onClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'HPE_CLOSED_CONNECTION') return;
  const inFlight = (socket as HttpSocket)._httpMessage;
  if (socket.writable && (inFlight === undefined || inFlight === null || !inFlight.headersSent)) {
    socket.write(ANSWERS[error.code ?? ''] ?? BAD_REQUEST);
  }
  socket.destroy(error);
}

export function answerClientErrors(server: Server): void {
  server.on('clientError', onClientError);
}
