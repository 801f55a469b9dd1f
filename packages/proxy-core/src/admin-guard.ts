/**
 * Keeps web pages away from the admin API. It listens on a unix socket or a loopback port, so
 * only this host reaches it — but a browser on this host (a CI runner's, a developer's) runs
 * other people's pages, and those can reach a loopback port:
 *   - cross-site requests: a page may POST `text/plain` to http://127.0.0.1:5001/rm without a
 *     CORS preflight; it cannot read the answer, but the purge happens. Browsers send `Origin`
 *     with every such request (and with every POST); regcache-admin, curl and scrapers never do.
 *   - DNS rebinding: a page served from evil.example:5001, whose name then resolves to
 *     127.0.0.1, reads the API as its own origin, with no `Origin` at all — but its requests
 *     carry `Host: evil.example:5001`. On a TCP listener only loopback names are answered.
 * A unix socket cannot be reached by a page, and any Host is fine there.
 */
import type { IncomingMessage } from 'node:http';

/** 127.0.0.0/8, localhost and ::1, with or without a port. */
const LOOPBACK_HOST = /^(?:localhost|127(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[::1\])(?::\d{1,5})?$/i;

/** Why `req` is refused (a message for the 403), or undefined when it may be answered. */
export function browserRefusal(req: IncomingMessage): string | undefined {
  if (req.headers.origin !== undefined) {
    return 'the admin API does not answer web pages (the request has an Origin header); use regcache-admin, curl or a scraper';
  }
  const overTcp = req.socket.remoteAddress !== undefined;
  const host = req.headers.host;
  if (overTcp && host !== undefined && !LOOPBACK_HOST.test(host)) {
    return `the admin API answers only requests addressed to a loopback name (localhost, 127.0.0.1, [::1]), not ${JSON.stringify(host.slice(0, 100))}`;
  }
  return undefined;
}
