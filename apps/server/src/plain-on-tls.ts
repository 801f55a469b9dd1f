/**
 * Plain HTTP sent to the HTTPS listener (`http://` in a mirror's config, a curl without the
 * s): node:https drops such a connection without a word, so the client sees an empty reply
 * and the operator sees nothing. OpenSSL recognises the request (ERR_SSL_HTTP_REQUEST); the
 * answer here is what nginx gives (its 497): a plain-text 400 saying to use https, written on
 * the raw TCP socket under the TLS one, and a log line naming the client.
 */
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Logger } from '@regcache/proxy-core';

const BODY = 'regcache: this port speaks HTTPS, and the request came in plain HTTP: use https://\n';
const ANSWER = `HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(BODY)}\r\nconnection: close\r\n\r\n${BODY}`;

/** The TCP socket a server-side TLS socket wraps (Node keeps it as `_parent`). */
type WrappingSocket = TLSSocket & { _parent?: Socket | null };

export function answerPlainHttpOnTls(server: TlsServer, logger: Logger): void {
  server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
    if (error.code !== 'ERR_SSL_HTTP_REQUEST') return;
    logger.warn({ remote: socket.remoteAddress }, 'plain HTTP request on the HTTPS listener: answered 400 (the client should use https://)');
    const raw = (socket as WrappingSocket)._parent;
    if (raw === undefined || raw === null || !raw.writable) return;
    raw.on('error', () => undefined);
    raw.end(ANSWER);
  });
}
