/**
 * What the kit's proxies share: a request sent on to another server (the fault proxy, the
 * forward proxy's absolute-form requests), and two sockets spliced together (the forward
 * proxy's CONNECT tunnels, the TLS front).
 */
import { request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';

export interface SendOnTarget {
  host: string;
  port: string | number;
  path: string | undefined;
  headers: OutgoingHttpHeaders;
}

/** `req`, body and all, sent on to `to`; resolves with the answer (its body unread), rejects if either side fails. */
export function sendOn(req: IncomingMessage, to: SendOnTarget): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const out = request({ host: to.host, port: to.port, method: req.method, path: to.path, headers: to.headers }, resolve);
    out.on('error', reject);
    pipeline(req, out).catch(reject);
  });
}

/**
 * Bytes both ways between two sockets (one pipeline, a → b → a) until either ends or fails —
 * the pipeline then destroys both; the errors are the test's to see, not the relay's. Both
 * are in `open` meanwhile, for a stop to destroy. (No 'close' listeners of its own: on a TLS
 * socket Node's and the pipeline's already come to ten.)
 */
export function splice(a: Socket, b: Socket, open: Set<Socket>): void {
  open.add(a).add(b);
  void pipeline(a, b, a)
    .catch(() => undefined)
    .finally(() => {
      open.delete(a);
      open.delete(b);
    });
}
