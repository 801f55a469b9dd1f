/**
 * An https:// upstream for tests: TLS on 127.0.0.1 in front of a plain target (a real registry,
 * a fault proxy), passing the bytes through untouched, so the target's own log still counts
 * what it served. Its certificate (for 127.0.0.1 and localhost, valid 2020–2120) is signed by
 * the test CA in tls-fixtures.ts, whose key was thrown away once both were made:
 * `TEST_CA_PEM` is what a client must trust, and nothing else can be signed with it.
 *
 *   client ──TLS──▶ front (127.0.0.1:port) ──TCP──▶ target
 */
import { connect, type Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { splice } from './relay.js';
import { TEST_SERVER_CERT_PEM, TEST_SERVER_KEY_PEM } from './tls-fixtures.js';

export interface TlsFront {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly host: string;
  /** Connections accepted so far (each a completed TLS handshake). */
  connections(): number;
  stop(): Promise<void>;
}

export async function startTlsFront(targetUrl: string): Promise<TlsFront> {
  const target = new URL(targetUrl);
  const open = new Set<Socket>();
  let accepted = 0;
  const server = createServer({ cert: TEST_SERVER_CERT_PEM, key: TEST_SERVER_KEY_PEM }, (client: TLSSocket) => {
    accepted += 1;
    splice(client, connect(Number(target.port), target.hostname), open);
  });
  // A client that gives up mid-handshake (a test of refusal) is no error of the front's.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('TLS front has no port');
  return {
    url: `https://127.0.0.1:${address.port}`,
    host: `127.0.0.1:${address.port}`,
    connections: () => accepted,
    async stop() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
