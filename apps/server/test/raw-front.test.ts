/**
 * A front thread's connection loop (src/front/raw-front.ts) on a real socket pair: how long it
 * keeps a connection. Like node:http: a connection that sends no head within headersTimeout of
 * its accept is closed; after an answer, one that stays quiet for keepAliveTimeout is closed;
 * one that keeps asking is not.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HotAnswer } from '@regcache/proxy-core/front';
import { serveRaw } from '../src/front/raw-front.js';
import { createHeadReader, createReplayBytes } from '../src/front/raw-head.js';

const HEADERS_TIMEOUT = 300;
const KEEP_ALIVE_TIMEOUT = 900;
const BODY = Buffer.from('{"schemaVersion":2}');
const ANSWER: HotAnswer = {
  head: { 'content-type': 'application/json', 'content-length': String(BODY.length) },
  body: BODY,
  digest: `sha256:${'a'.repeat(64)}` as HotAnswer['digest'],
  upstream: 'docker.io',
  repo: 'x',
  tag: 'docker.io\0x\0t',
  expiresAt: Number.POSITIVE_INFINITY,
  counts: { upstream: 'docker.io', repo: 'x', hits: 0, bytes: 0, queued: false },
};
const HEAD = 'HEAD /v2/x/manifests/t HTTP/1.1\r\nHost: c\r\n\r\n';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a raw front connection', () => {
  let server: Server;
  let port: number;
  const handedOff: Buffer[] = [];

  beforeAll(async () => {
    const bytesOf = createReplayBytes(KEEP_ALIVE_TIMEOUT);
    const deps = {
      headersTimeout: HEADERS_TIMEOUT,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT,
      readHead: createHeadReader(),
      lookup: () => ANSWER,
      bytesOf,
      replayed: () => undefined,
      handOff: (socket: Socket, unread: Buffer) => {
        handedOff.push(unread);
        socket.destroy();
      },
    };
    server = createServer((socket) => serveRaw(socket, deps));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  /** A client connection: when it opened, the answers it has read, and when the server closed it. */
  async function open(): Promise<{ socket: Socket; opened: number; answers: () => number; closedAt: Promise<number> }> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const opened = Date.now();
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    const closedAt = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    return { socket, opened, answers: () => text.split('HTTP/1.1 200 OK').length - 1, closedAt };
  }

  it('closes a connection that sends nothing within headersTimeout', async () => {
    const { opened, closedAt } = await open();
    const after = (await closedAt) - opened;
    expect(after).toBeGreaterThanOrEqual(HEADERS_TIMEOUT - 50);
    expect(after).toBeLessThan(KEEP_ALIVE_TIMEOUT);
  });

  it('keeps a connection that keeps asking, and closes it keepAliveTimeout after its last answer', async () => {
    const { socket, answers, closedAt } = await open();
    let closed = false;
    void closedAt.then(() => (closed = true));
    let lastAsked = 0;
    // Each pause is longer than headersTimeout and shorter than keepAliveTimeout.
    for (let i = 0; i < 4; i++) {
      lastAsked = Date.now();
      socket.write(HEAD);
      await sleep(HEADERS_TIMEOUT + 200);
      expect(closed).toBe(false);
    }
    expect(answers()).toBe(4);
    const quiet = (await closedAt) - lastAsked;
    expect(quiet).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT - 50);
    expect(quiet).toBeLessThan(KEEP_ALIVE_TIMEOUT + 1000);
    expect(handedOff).toEqual([]);
  });
});
