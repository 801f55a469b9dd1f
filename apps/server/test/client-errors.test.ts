/**
 * Bytes a client sends after a request that said `Connection: close` (proxy-core's src/client-errors.ts):
 * the request is answered whole — in the same write as the request, or arriving while a blob
 * streams to a client that reads slowly — and the connection closes after it. node:http's
 * default answered 400 to the first and cut the second after ≈ 220 KiB. Other bytes it cannot
 * parse still get node:http's answers: 431 for headers over the limit, 400 for garbage.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushBlob, sha256, startRegistry, tempDir, type RunningRegistry } from '@regcache/testkit';
import { responseAt } from './responses.js';
import { runServer, type ServerProcess } from './spawn.js';

/**
 * Writes each of `writes` (after `gapMs` between them), reads nothing for `pauseMs`, then reads
 * to the end of the connection: everything the server sent.
 */
async function exchange(address: string, writes: readonly string[], opts: { gapMs?: number; pauseMs?: number } = {}): Promise<Buffer> {
  const [host, port] = address.split(':');
  const socket = connect(Number(port), host);
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.pause();
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  // A reset ends the connection too: what arrived before it is what the assertions look at.
  socket.on('error', () => undefined);
  // Not events.once: it would reject on the reset's 'error'.
  const closed = new Promise((resolve) => socket.once('close', resolve));
  setTimeout(() => socket.resume(), opts.pauseMs ?? 0);
  for (const [i, bytes] of writes.entries()) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, opts.gapMs ?? 0));
    if (!socket.destroyed) socket.write(bytes, 'latin1');
  }
  await closed;
  return Buffer.concat(chunks);
}

describe('bytes after Connection: close, and bytes node:http cannot parse', () => {
  let upstream: RunningRegistry;
  let server: ServerProcess;
  const blob = randomBytes(16 * 1024 * 1024);
  let path = '';
  const request = (extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: cache\r\n${extra}\r\n`;
  const pipelined = 'GET /v2/ HTTP/1.1\r\nHost: cache\r\n\r\n';

  beforeAll(async () => {
    upstream = await startRegistry();
    path = `/v2/errors/blob/blobs/${await pushBlob(upstream, 'errors/blob', blob)}`;
    const dir = await tempDir('regcache-client-errors-');
    server = await runServer(['--listen', '127.0.0.1:0', '--data', `${dir}/data`, '--upstream', upstream.url]);
  }, 120_000);
  afterAll(async () => {
    if (server !== undefined) expect(await server.stop('SIGTERM')).toBe(0);
    await upstream?.stop();
  });

  it('answers a request whole when another follows it in the same write, then closes (a fill, then a hit)', async () => {
    for (const pass of ['fill', 'hit']) {
      const received = await exchange(server.address, [request('Connection: close\r\n') + pipelined]);
      const first = responseAt(received, 0, false);
      expect(first?.response.status, pass).toBe(200);
      expect(first?.response.headers.connection).toBe('close');
      expect(sha256(first?.response.body ?? Buffer.alloc(0))).toBe(sha256(blob));
      // Nothing after it: the pipelined request is not answered.
      expect(received.length).toBe(first?.end);
    }
  });

  it('sends a blob whole to a slow reader that keeps writing after Connection: close', async () => {
    const received = await exchange(server.address, [request('Connection: close\r\n'), pipelined.repeat(50)], { gapMs: 100, pauseMs: 600 });
    const first = responseAt(received, 0, false);
    expect(first?.response.status).toBe(200);
    expect(first?.response.body.length).toBe(blob.length);
    expect(sha256(first?.response.body ?? Buffer.alloc(0))).toBe(sha256(blob));
  });

  it('still answers 431 to headers over the limit and 400 to garbage, and closes', async () => {
    const huge = await exchange(server.address, [request(`X-Big: ${'a'.repeat(64 * 1024)}\r\n`)]);
    expect(huge.toString('latin1')).toMatch(/^HTTP\/1\.1 431 /);
    const garbage = await exchange(server.address, ['\u0001\u0002 not http\r\n\r\n']);
    expect(garbage.toString('latin1')).toMatch(/^HTTP\/1\.1 400 /);
  });
});
