/**
 * Writing responses. `sendError` is the one function that writes the OCI error envelope;
 * nothing else in regcache formats an error body.
 */
import type { ServerResponse } from 'node:http';
import { errorBody, errorStatus } from '@regcache/registry-protocol';
import type { OciErrorInfo } from './errors.js';

export const API_VERSION_HEADER = 'docker-distribution-api-version';
export const API_VERSION = 'registry/2.0';

export function sendError(res: ServerResponse, error: OciErrorInfo, head: boolean): void {
  if (res.headersSent) {
    // Too late for an envelope: cut the connection so the client sees an error, never a short 200.
    res.destroy();
    return;
  }
  const body = Buffer.from(errorBody([{ code: error.code, message: error.message, detail: error.detail }]));
  res.statusCode = errorStatus(error.code);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', body.length);
  res.setHeader(API_VERSION_HEADER, API_VERSION);
  if (res.statusCode === 401 && !res.hasHeader('www-authenticate')) {
    res.setHeader('www-authenticate', 'Basic realm="regcache"');
  }
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  res.end(head ? undefined : body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, head: boolean): void {
  const body = Buffer.from(JSON.stringify(value));
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', body.length);
  res.setHeader(API_VERSION_HEADER, API_VERSION);
  res.end(head ? undefined : body);
}

/**
 * For a node:http server's 'connect' event: a CONNECT request (proxy tunnelling) gets an
 * UNSUPPORTED envelope instead of a silently closed connection. regcache opens tunnels to
 * nobody — it is not an open proxy.
 */
export function refuseConnect(_req: unknown, socket: { end(data: string): void; on(event: 'error', listener: () => void): void }): void {
  const body = errorBody([{ code: 'UNSUPPORTED', message: 'regcache is a registry cache, not a proxy: CONNECT is not supported' }]);
  socket.on('error', () => undefined);
  socket.end(
    `HTTP/1.1 ${errorStatus('UNSUPPORTED')} Method Not Allowed\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nallow: GET, HEAD\r\nconnection: close\r\n\r\n${body}`,
  );
}
