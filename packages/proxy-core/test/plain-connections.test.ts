/**
 * Kept-alive connections to http:// upstreams (upstream/plain-connections.ts, used by
 * plain-get.ts): a response read to its exact end leaves its connection for the next request,
 * whether Node read the body or the native receive loop did; anything else closes it. Against a
 * real registry, and against small real servers that count their connections — for what
 * upstreams do to idle connections (close them, or close one just as a request goes out).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer, type Server } from 'node:http';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadReceive } from '@regcache/sendfile';
import { pushBlob, sha256, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { createPlainConnections, type PlainConnections } from '../src/upstream/plain-connections.js';
import { plainGet, type PlainResponse } from '../src/upstream/plain-get.js';
import { drain } from './fill-helpers.js';

const TIMEOUTS = { connect: 2000, headers: 2000, body: 2000 };

async function listen(server: Server | NetServer): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

/** A node:http server answering `body` to every GET, counting the connections it accepted and has open. */
async function countingServer(body: Buffer, headers: Record<string, string> = {}): Promise<{ url: string; accepted: () => number; open: () => number; server: Server }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(body.length), ...headers });
    res.end(body);
  });
  server.on('connection', (socket: Socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const url = await listen(server);
  return { url, accepted: () => accepted, open: () => sockets.size, server };
}

async function stop(server: Server | NetServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('kept-alive plain-http connections', () => {
  const body = randomBytes(200 * 1024);
  let connections: PlainConnections;
  let servers: (Server | NetServer)[] = [];
  const get = (url: string): Promise<PlainResponse> => plainGet({ url: new URL(url), headers: {}, timeouts: TIMEOUTS, connections });
  const serve = async (headers?: Record<string, string>): ReturnType<typeof countingServer> => {
    const counted = await countingServer(body, headers);
    servers.push(counted.server);
    return counted;
  };

  beforeAll(() => {
    connections = createPlainConnections({ idleMs: 2000, maxIdle: 2 });
  });
  afterEach(async () => {
    connections.close();
    connections = createPlainConnections({ idleMs: 2000, maxIdle: 2 });
    await Promise.all(servers.map(stop));
    servers = [];
  });
  afterAll(() => connections.close());

  it('serves requests one after another on one connection when each body is read to its end', async () => {
    const upstream = await serve();
    for (let i = 0; i < 3; i++) {
      const res = await get(`${upstream.url}/v2/a/blobs/${i}`);
      expect(sha256(await drain(res))).toBe(sha256(body));
      expect(connections.idle()).toBe(1);
    }
    expect(upstream.accepted()).toBe(1);
  });

  it('keeps at most maxIdle per host; the rest close as they come back', async () => {
    const upstream = await serve();
    const responses = await Promise.all([0, 1, 2].map((i) => get(`${upstream.url}/v2/a/blobs/${i}`)));
    expect(upstream.accepted()).toBe(3);
    for (const res of responses) await drain(res);
    expect(connections.idle()).toBe(2);
    await expect.poll(upstream.open).toBe(2);
  });

  it('closes a connection whose body was not read to its end, or whose answer said Connection: close', async () => {
    const upstream = await serve();
    const dumped = await get(`${upstream.url}/v2/a/blobs/0`);
    await dumped.body.dump();
    expect(connections.idle()).toBe(0);
    await expect.poll(upstream.open).toBe(0);
    const closing = await serve({ connection: 'close' });
    await drain(await get(`${closing.url}/v2/a/blobs/0`));
    await drain(await get(`${closing.url}/v2/a/blobs/1`));
    expect(closing.accepted()).toBe(2);
    expect(connections.idle()).toBe(0);
  });

  it('drops an idle connection the upstream closes, and one unused for idleMs', async () => {
    connections.close();
    connections = createPlainConnections({ idleMs: 60_000 });
    const upstream = await serve();
    upstream.server.keepAliveTimeout = 150;
    await drain(await get(`${upstream.url}/v2/a/blobs/0`));
    expect(connections.idle()).toBe(1);
    // Long before idleMs: the upstream's close is noticed while the connection idles.
    await expect.poll(() => connections.idle(), { timeout: 1500 }).toBe(0);
    await drain(await get(`${upstream.url}/v2/a/blobs/1`));
    expect(upstream.accepted()).toBe(2);

    connections.close();
    connections = createPlainConnections({ idleMs: 100 });
    const patient = await serve();
    await drain(await get(`${patient.url}/v2/a/blobs/0`));
    expect(connections.idle()).toBe(1);
    await expect.poll(patient.open, { timeout: 2000 }).toBe(0);
    expect(connections.idle()).toBe(0);
  });

  it('asks once more on a new connection when the upstream closes a kept-alive one as the request goes out', async () => {
    // Answers the first request of each connection, keeping it open; closes at the second without a byte.
    let accepted = 0;
    const server = createNetServer((socket) => {
      accepted += 1;
      let requests = 0;
      socket.on('data', () => {
        requests += 1;
        if (requests === 1) socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`), socket.write(body);
        else socket.destroy();
      });
    });
    servers.push(server);
    const url = await listen(server);
    await drain(await get(`${url}/v2/a/blobs/0`));
    expect(connections.idle()).toBe(1);
    expect(sha256(await drain(await get(`${url}/v2/a/blobs/1`)))).toBe(sha256(body));
    expect(accepted).toBe(2);
  });

  it('does not keep an HTTP/1.0 answer, nor one followed by bytes past its Content-Length', async () => {
    let accepted = 0;
    const server = createNetServer((socket) => {
      accepted += 1;
      socket.once('data', (request) => {
        const extra = request.toString().includes('/extra');
        socket.write(`HTTP/1.${extra ? 1 : 0} 200 OK\r\ncontent-length: 5\r\n\r\nhello${extra ? 'HTTP/1.1 200 OK\r\n' : ''}`);
      });
    });
    servers.push(server);
    const url = await listen(server);
    expect((await drain(await get(`${url}/v2/old`))).toString()).toBe('hello');
    expect((await drain(await get(`${url}/v2/extra`))).toString()).toBe('hello');
    expect(connections.idle()).toBe(0);
    await drain(await get(`${url}/v2/old`));
    expect(accepted).toBe(3);
  });

  it('closes its idle connections on close()', async () => {
    const upstream = await serve();
    await drain(await get(`${upstream.url}/v2/a/blobs/0`));
    await expect.poll(upstream.open).toBe(1);
    connections.close();
    await expect.poll(upstream.open).toBe(0);
  });
});

describe('a body the native receive loop read to its end', () => {
  const receive = loadReceive();
  let upstream: RunningRegistry;
  let dir = '';
  const blob = randomBytes(3 * 1024 * 1024);
  let path = '';
  beforeAll(async () => {
    upstream = await startRegistry();
    path = `/v2/plain/kept/blobs/${await pushBlob(upstream, 'plain/kept', blob)}`;
    dir = await mkdtemp(join(tmpdir(), 'regcache-kept-'));
  }, 60_000);
  afterAll(async () => {
    await upstream?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves the connection for the next request', async () => {
    if (receive === undefined) throw new Error('the sendfile addon is built (npm ci builds it)');
    const connections = createPlainConnections();
    try {
      for (let i = 0; i < 2; i++) {
        const res = await plainGet({ url: new URL(`${upstream.url}${path}`), headers: {}, timeouts: TIMEOUTS, connections });
        // The second request took the idle connection the first left.
        expect(connections.idle()).toBe(0);
        const handed = res.handOff?.take();
        if (handed === undefined) throw new Error('a 2xx length-framed body is handed off');
        const file = await open(join(dir, `blob${i}`), 'w');
        try {
          const job = receive({ socketFd: handed.fd, fileFd: file.fd, prefix: handed.prefix, length: handed.remaining, idleMs: 2000, progress: () => undefined });
          const { sha256: hex } = await job.done;
          handed.finished();
          expect(`sha256:${hex}`).toBe(sha256(blob));
        } finally {
          await file.close();
        }
        expect(connections.idle()).toBe(1);
        expect(sha256(await readFile(join(dir, `blob${i}`)))).toBe(sha256(blob));
      }
    } finally {
      connections.close();
    }
  });
});
