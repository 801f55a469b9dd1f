/**
 * The pooled reader of blob bodies from http:// upstreams (upstream/plain-get.ts): against a
 * real registry (bytes, digest, bounded memory when the consumer holds chunks, error answers),
 * and against small real servers for what registries rarely do — chunked bodies, cut
 * connections, silence, other transfer codings (asked again through undici).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpListener, pushBlob, sha256, startRegistry, type RunningRegistry } from '@regcache/testkit';
import { parseConfig } from '../src/config.js';
import { createUpstreamClient } from '../src/upstream/client.js';
import { PlainGetTimeoutError } from '../src/upstream/plain-body.js';
import { createPlainConnections } from '../src/upstream/plain-connections.js';
import { plainGet, type PlainGetOptions, type PlainResponse } from '../src/upstream/plain-get.js';
import { drain } from './fill-helpers.js';
import { PlainGetProtocolError, PlainGetUnsupportedError } from '../src/upstream/plain-head.js';

const MiB = 1024 * 1024;
const TIMEOUTS = { connect: 2000, headers: 2000, body: 2000 };
const connections = createPlainConnections();
afterAll(() => connections.close());
const get = (url: string, opts: Partial<PlainGetOptions> = {}): Promise<PlainResponse> => plainGet({ url: new URL(url), headers: {}, timeouts: TIMEOUTS, connections, ...opts });

/** A real HTTP server on 127.0.0.1:0 (testkit's listener) that counts its requests; stopped after the file. */
function useServer(handler: (req: IncomingMessage, res: ServerResponse) => void): () => { url: string; requests: number } {
  const state = { url: '', requests: 0 };
  const listener = httpListener(async (req, res) => {
    state.requests += 1;
    handler(req, res);
  });
  beforeAll(async () => {
    await listener.start();
    state.url = `http://127.0.0.1:${listener.port}`;
  });
  afterAll(() => listener.stop());
  return () => state;
}

describe('plain-http blob bodies from a real registry', () => {
  let upstream: RunningRegistry;
  const blob = randomBytes(12 * MiB);
  let path = '';
  beforeAll(async () => {
    upstream = await startRegistry();
    path = `/v2/plain/get/blobs/${await pushBlob(upstream, 'plain/get', blob)}`;
  }, 60_000);
  afterAll(() => upstream.stop());

  it('delivers the exact bytes, lent from the pool', async () => {
    const res = await get(`${upstream.url}${path}`, { headers: { 'user-agent': 'regcache-test' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(blob.length));
    expect(res.release).toBeTypeOf('function');
    expect(sha256(await drain(res))).toBe(sha256(blob));
  });

  it('stops reading while the consumer holds its chunks, and goes on when they come back', async () => {
    const res = await get(`${upstream.url}${path}`);
    const held: Buffer[] = [];
    let received = 0;
    res.body.on('data', (chunk: Buffer) => {
      held.push(chunk);
      received += chunk.length;
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Four 1 MiB slabs, one more while the socket pauses, and the readable's own buffer.
    expect(received).toBeLessThanOrEqual(6 * MiB);
    const before = received;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toBe(before);
    const hash = createHash('sha256');
    const release = (): void => {
      for (const chunk of held.splice(0)) {
        hash.update(chunk);
        res.release?.(chunk);
      }
    };
    res.body.on('data', () => setImmediate(release));
    release();
    await new Promise((resolve) => res.body.once('end', resolve));
    release();
    expect(received).toBe(blob.length);
    expect(`sha256:${hash.digest('hex')}`).toBe(sha256(blob));
  });

  it('offers the body for hand-off: nothing is read ahead meanwhile; take() gives what was read and the socket; takeBack() lets Node read on', async () => {
    const res = await get(`${upstream.url}${path}`);
    const handOff = res.handOff;
    if (handOff === undefined) throw new Error('a 2xx length-framed body is offered');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Only the head's first read (≤ one slab) came off the socket while nobody decided.
    expect(res.body.readableLength).toBeLessThanOrEqual(MiB);
    const handed = handOff.take();
    if (handed === undefined) throw new Error('not handed over');
    expect(handed.fd).toBeGreaterThan(0);
    expect(handed.prefix.length + handed.remaining).toBe(blob.length);
    expect(handed.prefix.equals(blob.subarray(0, handed.prefix.length))).toBe(true);
    expect(handOff.take()).toBeUndefined();
    // The reader that takes the socket keeps the upstream's body stall limit (Node's clock stopped).
    expect(handed.idleMs).toBe(TIMEOUTS.body);
    // Nobody took bytes off the socket in the meantime: Node reads the rest, after the prefix.
    handed.takeBack(0);
    const rest = await drain(res);
    expect(Buffer.concat([handed.prefix, rest]).equals(blob)).toBe(true);
  });

  it('reads the body as usual once the hand-off is declined (or a consumer starts reading)', async () => {
    const declined = await get(`${upstream.url}${path}`);
    declined.handOff?.decline();
    expect(sha256(await drain(declined))).toBe(sha256(blob));
    const read = await get(`${upstream.url}${path}`);
    expect(read.handOff).toBeDefined();
    expect(sha256(await drain(read))).toBe(sha256(blob));
  });

  it('copies an error body (nothing lent) and keeps its status', async () => {
    const res = await get(`${upstream.url}/v2/plain/get/blobs/sha256:${'0'.repeat(64)}`);
    expect(res.statusCode).toBe(404);
    expect(res.release).toBeUndefined();
    const body = JSON.parse((await drain(res)).toString()) as { errors: Array<{ code: string }> };
    expect(body.errors[0]?.code).toBe('BLOB_UNKNOWN');
  });

  it('fails with the abort reason when the signal fires mid-body', async () => {
    const controller = new AbortController();
    const res = await get(`${upstream.url}${path}`, { signal: controller.signal });
    const reason = new Error('client gone');
    res.body.once('data', () => controller.abort(reason));
    await expect(drain(res)).rejects.toBe(reason);
  });
});

describe('plain-http answers registries rarely give', () => {
  const body = randomBytes(300 * 1024);
  const server = useServer((req, res) => {
    if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let at = 0; at < body.length; at += 7000) res.write(body.subarray(at, at + 7000));
      res.end();
    } else if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, 1000), () => setTimeout(() => res.destroy(), 50));
    } else if (req.url === '/stall') {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, 1000));
    } else if (req.url === '/gzip') {
      res.writeHead(200, { 'transfer-encoding': 'gzip, chunked' });
      res.end(body);
    } else if (req.url === '/both') {
      res.socket?.end(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
    } else if (req.url === '/slow-head') {
      const socket = res.socket;
      socket?.write('HTTP/1.1 200 OK\r\nContent-Le');
      setTimeout(() => socket?.end(`ngth: ${body.length}\r\n\r\n${body.toString('latin1')}`, 'latin1'), 50);
    } else if (req.url === '/huge-head') {
      res.socket?.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 0\r\n\r\n`);
    } else if (req.url !== '/silent') res.end();
  });

  it('decodes a chunked body (copied, not lent)', async () => {
    const res = await get(`${server().url}/chunked`);
    expect(res.release).toBeUndefined();
    expect(sha256(await drain(res))).toBe(sha256(body));
  });

  it('reads a head that arrives in pieces, and refuses one over 64 KiB', async () => {
    expect(sha256(await drain(await get(`${server().url}/slow-head`)))).toBe(sha256(body));
    await expect(get(`${server().url}/huge-head`)).rejects.toThrow(/head over/);
  });

  it('fails a body cut short of its Content-Length', async () => {
    const res = await get(`${server().url}/cut`);
    await expect(drain(res)).rejects.toThrow(PlainGetProtocolError);
  });

  it('times out an upstream that sends no head, and one that stops mid-body', async () => {
    const quick = { connect: 1000, headers: 300, body: 300 };
    await expect(get(`${server().url}/silent`, { timeouts: quick })).rejects.toMatchObject({ phase: 'headers' });
    const res = await get(`${server().url}/stall`, { timeouts: quick });
    const error = await drain(res).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlainGetTimeoutError);
    expect(error).toMatchObject({ phase: 'body' });
  });

  it('refuses a response framed two ways, and a request header that would split the request', async () => {
    await expect(get(`${server().url}/both`)).rejects.toThrow(PlainGetProtocolError);
    const before = server().requests;
    await expect(get(`${server().url}/chunked`, { headers: { 'x-evil': 'a\r\nx-injected: 1' } })).rejects.toThrow(PlainGetProtocolError);
    expect(server().requests).toBe(before);
  });

  it('leaves another transfer coding to undici: the client asks once more and gets the body', async () => {
    await expect(get(`${server().url}/gzip`)).rejects.toThrow(PlainGetUnsupportedError);
    const config = parseConfig({ upstreams: [{ name: 'odd', url: server().url }] });
    const client = createUpstreamClient(config.upstreams[0] as (typeof config.upstreams)[number]);
    try {
      const before = server().requests;
      const res = await client.requestOk({ method: 'GET', path: '/gzip', lend: true });
      expect(res.release).toBeUndefined();
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) chunks.push(chunk as Buffer);
      expect(sha256(Buffer.concat(chunks))).toBe(sha256(body));
      expect(server().requests - before).toBe(2);
    } finally {
      await client.close();
    }
  });
});
