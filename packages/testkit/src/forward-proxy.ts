/**
 * An HTTP forward proxy on 127.0.0.1, as a corporate egress proxy (squid and the like) is to
 * regcache: `CONNECT host:port` opens a tunnel (for an https:// upstream), and a request in
 * absolute form (`GET http://host:port/path`) is forwarded (for an http:// upstream). It keeps a
 * log of what it was asked, so a test can assert that the upstream was reached through it.
 *
 *   regcache ──CONNECT / GET http://…──▶ proxy ──TCP──▶ upstream
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { sendOn, splice } from './relay.js';

export interface ProxiedCall {
  /** CONNECT, or the forwarded request's method. */
  method: string;
  /** host:port for CONNECT, the absolute URL otherwise. */
  target: string;
}

export interface ForwardProxy {
  /** http://127.0.0.1:PORT — what goes in HTTPS_PROXY / an upstream's `proxy`. */
  readonly url: string;
  calls(): readonly ProxiedCall[];
  stop(): Promise<void>;
}

export async function startForwardProxy(): Promise<ForwardProxy> {
  const calls: ProxiedCall[] = [];
  const tunnels = new Set<Socket>();
  const server = createServer((req, res) => forward(req, res, calls));
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    calls.push({ method: 'CONNECT', target: req.url ?? '' });
    const [host, port] = splitHostPort(req.url ?? '');
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      splice(client, upstream, tunnels);
    });
    upstream.once('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('forward proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    calls: () => calls,
    async stop() {
      for (const socket of tunnels) socket.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function splitHostPort(target: string): [string, number] {
  const at = target.lastIndexOf(':');
  return [target.slice(0, at).replace(/^\[|\]$/g, ''), Number(target.slice(at + 1))];
}

/** A request in absolute form, sent on as an origin-form request to its host. */
function forward(req: IncomingMessage, res: ServerResponse, calls: ProxiedCall[]): void {
  const target = req.url ?? '';
  calls.push({ method: req.method ?? '', target });
  if (!/^http:\/\//.test(target)) {
    res.writeHead(400).end('a forward proxy takes absolute-form requests');
    return;
  }
  const url = new URL(target);
  const headers = { ...req.headers };
  delete headers['proxy-connection'];
  delete headers['proxy-authorization'];
  sendOn(req, { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers }).then(
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      void pipeline(answer, res).catch(() => res.destroy());
    },
    () => (res.headersSent ? res.destroy() : res.writeHead(502).end()),
  );
}
