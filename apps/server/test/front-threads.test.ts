/**
 * Front threads (src/front/): with `limits.frontThreads: 1` the kernel gives each new
 * connection to the main thread or the front. Hot manifest answers are replayed by whichever
 * has the connection; anything else the front hands to the main thread, on the same
 * connection, which the client never notices. A tag's answer ends at its TTL in the front as
 * in the main thread; pipelined requests are answered in order whichever thread has them
 * (the front hands over every byte it did not answer); writes and CONNECT get the same typed
 * refusal from both; and the server
 * still stops cleanly with connections held by the front.
 */
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCEPT_ALL_MANIFESTS, pushSmallImage, rawExchange, sha256, startRegistry, tempDir, type RunningRegistry, type SmallImage } from '@regcache/testkit';
import { responseAt, type RawResponse } from './responses.js';
import { runServer, type ServerProcess } from './spawn.js';

interface Answer {
  status: number;
  digest: string | undefined;
  body: Buffer;
  port: number;
}

/** One request on `agent` (a keep-alive agent of one socket: every request of a sequence shares the connection). */
function get(agent: Agent, address: string, path: string, accept = ACCEPT_ALL_MANIFESTS): Promise<Answer> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port: Number(port), path, agent, headers: { accept } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, digest: res.headers['docker-content-digest'] as string | undefined, body: Buffer.concat(chunks), port: req.socket?.localPort ?? 0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Writes `bytes` on a new connection and reads until the server closes it. */
async function rawAll(port: number, bytes: Buffer): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(bytes);
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

/** Splits a stream of HTTP/1.1 responses with Content-Length bodies (none for a HEAD's). */
function readResponses(stream: Buffer, heads: boolean[]): RawResponse[] {
  const answers = [];
  let at = 0;
  for (const isHead of heads) {
    const next = responseAt(stream, at, isHead);
    if (next === undefined) break;
    answers.push(next.response);
    at = next.end;
  }
  return answers;
}

describe('front threads', () => {
  let upstream: RunningRegistry;
  let image: SmallImage;
  let server: ServerProcess;

  beforeAll(async () => {
    upstream = await startRegistry();
    image = await pushSmallImage(upstream, 'front/app', 'v1', 64 * 1024);
    const dir = await tempDir('regcache-front-');
    await writeFile(`${dir}/regcache.yaml`, `upstreams:\n  - name: docker.io\n    url: ${upstream.url}\n    tagTtl: 2s\nlimits:\n  frontThreads: 1\n`);
    server = await runServer(['--config', `${dir}/regcache.yaml`, '--listen', '127.0.0.1:0', '--data', `${dir}/data`]);
  }, 120_000);
  afterAll(async () => {
    if (server !== undefined) expect(await server.stop('SIGTERM')).toBe(0);
    await upstream?.stop();
  });

  it('replays hot answers in either thread and hands every other request over on the same connection', async () => {
    expect(server.lines.find((l) => l.msg === 'regcache listening')?.frontThreads).toBe(1);
    const byDigest = `/v2/${image.name}/manifests/${image.digest}`;
    const byTag = `/v2/${image.name}/manifests/${image.tag}`;
    expect((await get(new Agent(), server.address, byDigest)).digest).toBe(image.digest);
    expect((await get(new Agent(), server.address, byTag)).digest).toBe(image.digest);
    // 24 connections, each: a hot answer, a blob (never hot), the hot answers again, a 404.
    for (let i = 0; i < 24; i++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const first = await get(agent, server.address, i % 2 === 0 ? byDigest : byTag);
        expect(first).toMatchObject({ status: 200, digest: image.digest });
        for (const blob of image.blobs) {
          const answer = await get(agent, server.address, `/v2/${image.name}/blobs/${blob}`, '*/*');
          expect(answer.status).toBe(200);
          expect(sha256(answer.body)).toBe(blob);
          expect(answer.port).toBe(first.port); // the same connection throughout
        }
        expect(await get(agent, server.address, byDigest)).toMatchObject({ status: 200, digest: image.digest, port: first.port });
        expect((await get(agent, server.address, `/v2/${image.name}/manifests/nope`)).status).toBe(404);
      } finally {
        agent.destroy();
      }
    }
    // Both threads answered: the front's replays are logged (by the main thread) with `front: true`.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const replays = server.lines.filter((l) => l.msg === 'request' && l.cache === 'hit' && l.route === 'manifest');
    expect(replays.filter((l) => l.front === true).length).toBeGreaterThan(0);
    expect(replays.filter((l) => l.front !== true).length).toBeGreaterThan(0);
  });

  it('answers pipelined requests in order in either thread, hot or not, HTTP/1.1 or 1.0', async () => {
    const port = Number(server.address.split(':')[1]);
    const byDigest = `/v2/${image.name}/manifests/${image.digest}`;
    const blob = image.blobs[0] as string;
    const accept = `Accept: ${ACCEPT_ALL_MANIFESTS}\r\n`;
    const frontReplays = (): number => server.lines.filter((l) => l.msg === 'request' && l.front === true).length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const frontBefore = frontReplays();
    // Hot, not hot (a blob: handed over mid-stream in the front), hot again, then an HTTP/1.0 HEAD that closes.
    const pipelined = [
      `GET ${byDigest} HTTP/1.1\r\nHost: cache\r\n${accept}\r\n`,
      `GET /v2/${image.name}/blobs/${blob} HTTP/1.1\r\nHost: cache\r\n\r\n`,
      `HEAD ${byDigest} HTTP/1.1\r\nHost: cache\r\n${accept}\r\n`,
      `HEAD ${byDigest} HTTP/1.0\r\n${accept}\r\n`,
    ].join('');
    for (let i = 0; i < 16; i++) {
      const answers = readResponses(await rawAll(port, Buffer.from(pipelined, 'latin1')), [false, false, true, true]);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(answers.map((a) => a.headers['docker-content-digest'])).toEqual([image.digest, blob, image.digest, image.digest]);
      expect(sha256(answers[0]?.body ?? Buffer.alloc(0))).toBe(image.digest);
      expect(sha256(answers[1]?.body ?? Buffer.alloc(0))).toBe(blob);
      expect(answers[3]?.headers.connection).toBe('close');
    }
    // Some of them were the front's: its replays are logged by the main thread with `front: true`.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(frontReplays()).toBeGreaterThan(frontBefore);
  });

  it('spreads connections opened at once evenly over both threads, whichever accepts them', async () => {
    const port = Number(server.address.split(':')[1]);
    const byDigest = `/v2/${image.name}/manifests/${image.digest}`;
    const head = Buffer.from(`HEAD ${byDigest} HTTP/1.1\r\nHost: cache\r\nAccept: ${ACCEPT_ALL_MANIFESTS}\r\n\r\n`, 'latin1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = server.lines.length;
    // 32 at once, as ab -c32 or a runner's parallel pulls open them; all held open until each has its answer.
    const sockets = await Promise.all(Array.from({ length: 32 }, () => new Promise<Socket>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    })));
    try {
      const answers = await Promise.all(sockets.map(async (socket) => {
        socket.write(head);
        const [chunk] = (await once(socket, 'data')) as [Buffer];
        return chunk.toString('latin1').split('\r\n')[0];
      }));
      expect(answers).toEqual(Array.from({ length: 32 }, () => 'HTTP/1.1 200 OK'));
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const replays = server.lines.slice(before).filter((l) => l.msg === 'request' && l.method === 'HEAD' && l.cache === 'hit');
    expect(replays).toHaveLength(32);
    // Even to within the slack, the one or two that two threads placing at the same moment may
    // both take, and an earlier test's connection still counted until its close arrives.
    expect(replays.every((l) => l.front === true)).toBe(true);
    const inFront = replays.filter((l) => l.thread === 1).length;
    expect(inFront).toBeGreaterThanOrEqual(12);
    expect(inFront).toBeLessThanOrEqual(20);
  });

  it('ends a tag answer at its TTL in the front too: a moved tag is followed on every connection, other answers stay hot', async () => {
    const byTag = `/v2/${image.name}/manifests/${image.tag}`;
    for (let i = 0; i < 8; i++) expect((await get(new Agent(), server.address, byTag)).digest).toBe(image.digest);
    const moved = await pushSmallImage(upstream, image.name, image.tag, 1024);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    for (let i = 0; i < 16; i++) expect((await get(new Agent(), server.address, byTag)).digest).toBe(moved.digest);
    // The move emptied every raw front's copy of the table; what the table still holds is offered
    // to them again, so the old digest's answer is replayed before node:http on every connection.
    const byDigest = `/v2/${image.name}/manifests/${image.digest}`;
    const replayedByFronts = (): number => server.lines.filter((l) => l.msg === 'request' && l.front === true && l.path === byDigest).length;
    await new Promise((resolve) => setTimeout(resolve, 700));
    const before = replayedByFronts();
    for (let i = 0; i < 8; i++) expect((await get(new Agent(), server.address, byDigest)).digest).toBe(image.digest);
    await expect.poll(replayedByFronts, { timeout: 2000 }).toBe(before + 8);
  });

  it('leaves malformed heads to node:http in either thread: a 4xx, never a hang or a 5xx', async () => {
    const port = Number(server.address.split(':')[1]);
    const heads = [
      'GET /v2/ HTTP/1.1\r\n\r\n', // no Host
      'GET /v2/ HTTP/1.1\r\nHost: c\r\nX: a\nb\r\n\r\n', // bare LF
      `GET /v2/ HTTP/1.1\r\nHost: c\r\nX: ${'x'.repeat(20_000)}\r\n\r\n`, // over 16 KiB
      'GET /v2/ HTTP/1.1\r\nHost: c\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', // smuggling
    ];
    for (let i = 0; i < 8; i++) {
      for (const head of heads) {
        const { status } = await rawExchange(port, Buffer.from(head, 'latin1'));
        expect(status, head.slice(0, 60)).toBeGreaterThanOrEqual(400);
        expect(status, head.slice(0, 60)).toBeLessThan(500);
      }
    }
  });

  it('refuses what a read-only cache refuses, with the same typed answer in either thread', async () => {
    const port = Number(server.address.split(':')[1]);
    const upload = 'PUT /v2/front/app/blobs/uploads/x HTTP/1.1\r\nHost: cache\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello';
    const connect = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n';
    // 16 connections of each: about half land on the front.
    for (let i = 0; i < 16; i++) {
      for (const raw of [upload, connect]) {
        const { status, body } = await rawExchange(port, Buffer.from(raw, 'latin1'));
        expect(status).toBe(405);
        expect(body).toContain('"UNSUPPORTED"');
      }
    }
  });
});
