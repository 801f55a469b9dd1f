import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface HttpListener {
  readonly port: number;
  /** Listens (again) on 127.0.0.1 — the same port after the first start. */
  start(): Promise<void>;
  /** Closes the server and every open connection. */
  stop(): Promise<void>;
}

/** A node:http server on 127.0.0.1 that can be stopped and started again on the same port. */
export function httpListener(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, initialPort = 0): HttpListener {
  let port = initialPort;
  let server: Server | undefined;
  const start = async (): Promise<void> => {
    if (server !== undefined) return;
    const created = createServer((req, res) => {
      handler(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ details: String(error) }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      created.once('error', reject);
      created.listen(port, '127.0.0.1', () => resolve());
    });
    const address = created.address();
    if (address !== null && typeof address !== 'string') port = address.port;
    server = created;
  };
  const stop = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (current === undefined) return;
    const closed = new Promise<void>((resolve) => current.close(() => resolve()));
    current.closeAllConnections();
    await closed;
  };
  return {
    get port() {
      return port;
    },
    start,
    stop,
  };
}
