/**
 * The front thread's own request reader (src/front/raw-head.ts): the plainest GET/HEAD heads
 * are read; everything node:http would judge differently — bodies, protocol changes, odd
 * framing, a missing Host, oversized heads — is `unusual`, and a head cut short is
 * `incomplete`. The answer bytes are what node:http writes for the same answer.
 */
import { createServer, request } from 'node:http';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { HotAnswer } from '@regcache/proxy-core/front';
import { createHeadReader, createReplayBytes, MAX_HEAD_BYTES, readHead } from '../src/front/raw-head.js';

const head = (text: string): Buffer => Buffer.from(text, 'latin1');
const TARGET = `/v2/library/alpine/manifests/sha256:${'a'.repeat(64)}`;

describe('readHead', () => {
  it('reads a GET and a HEAD, with their headers as node rawHeaders, and where each ends', () => {
    const two = head(`GET ${TARGET} HTTP/1.1\r\nHost: cache:5000\r\nAccept: a/b,  c/d\r\n\r\nHEAD /v2/x/manifests/v1 HTTP/1.1\r\nhost: c\r\nConnection: keep-alive\r\n\r\n`);
    const first = readHead(two, 0);
    expect(first).toEqual({ method: 'GET', url: TARGET, rawHeaders: ['Host', 'cache:5000', 'Accept', 'a/b,  c/d'], close: false, end: two.indexOf('HEAD ') });
    const second = readHead(two, two.indexOf('HEAD '));
    expect(second).toMatchObject({ method: 'HEAD', url: '/v2/x/manifests/v1', close: false, end: two.length });
  });

  it('closes after the answer on Connection: close, and for HTTP/1.0 unless it asks for keep-alive', () => {
    expect(readHead(head('GET / HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n'), 0)).toMatchObject({ close: true });
    expect(readHead(head('HEAD / HTTP/1.0\r\nHost: c\r\nConnection: Keep-Alive\r\n\r\n'), 0)).toMatchObject({ close: false });
    expect(readHead(head('HEAD / HTTP/1.0\r\nUser-Agent: ab\r\n\r\n'), 0)).toMatchObject({ close: true });
  });

  it('waits for the rest of a head, up to MAX_HEAD_BYTES', () => {
    expect(readHead(head('GET / HTTP/1.1\r\nHost: c\r\n'), 0)).toBe('incomplete');
    expect(readHead(head(`GET / HTTP/1.1\r\nHost: c\r\nX: ${'x'.repeat(MAX_HEAD_BYTES)}`), 0)).toBe('unusual');
    expect(readHead(head(`GET / HTTP/1.1\r\nHost: c\r\nX: ${'x'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`), 0)).toBe('unusual');
  });

  it('reads the same through a remembering reader: where each ends, unusual heads, heads cut short, and past its bound', () => {
    const read = createHeadReader();
    const one = `HEAD ${TARGET} HTTP/1.1\r\nHost: c\r\nAccept: a/b\r\n\r\n`;
    const odd = 'GET / HTTP/1.1\r\nHost: c\r\nUpgrade: h2c\r\n\r\n';
    const bytes = head(`${one}${one}${odd}${one}`);
    let at = 0;
    for (const expected of [one, one, odd, one]) {
      const plain = readHead(bytes, at);
      expect(read(bytes, at)).toEqual(plain);
      expect(read(bytes, at)).toEqual(plain);
      at += expected.length;
      if (plain !== 'unusual') expect(plain).toMatchObject({ end: at });
    }
    const cut = head(one.slice(0, -2));
    expect(read(cut, 0)).toBe('incomplete');
    expect(read(head(one), 0)).toEqual(readHead(head(one), 0));
    // More distinct heads than it keeps: each still reads as readHead does.
    for (let i = 0; i < 600; i++) {
      const distinct = head(`GET /v2/x/manifests/t${i % 300} HTTP/1.1\r\nHost: c\r\n\r\n`);
      expect(read(distinct, 0)).toEqual(readHead(distinct, 0));
    }
    const long = head(`GET / HTTP/1.1\r\nHost: c\r\nX: ${'x'.repeat(5000)}\r\n\r\n`);
    expect(read(long, 0)).toEqual(readHead(long, 0));
  });

  it.each([
    ['a body', 'GET / HTTP/1.1\r\nHost: c\r\nContent-Length: 5\r\n\r\nhello'],
    ['a chunked body', 'GET / HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['another method', 'PUT / HTTP/1.1\r\nHost: c\r\n\r\n'],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'],
    ['an upgrade', 'GET / HTTP/1.1\r\nHost: c\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'],
    ['two Connection tokens', 'GET / HTTP/1.1\r\nHost: c\r\nConnection: keep-alive, TE\r\n\r\n'],
    ['Expect', 'GET / HTTP/1.1\r\nHost: c\r\nExpect: 100-continue\r\n\r\n'],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'],
    ['no header at all', 'GET / HTTP/1.0\r\n\r\n'],
    ['an absolute-form target', 'GET http://c/v2/ HTTP/1.1\r\nHost: c\r\n\r\n'],
    ['a control character in the target', 'GET /v2/\u0001 HTTP/1.1\r\nHost: c\r\n\r\n'],
    ['a folded header', 'GET / HTTP/1.1\r\nHost: c\r\nAccept: a\r\n b\r\n\r\n'],
    ['space before a colon', 'GET / HTTP/1.1\r\nHost : c\r\n\r\n'],
    ['a bare LF in a header', 'GET / HTTP/1.1\r\nHost: c\nX: y\r\n\r\n'],
    ['a header without a colon', 'GET / HTTP/1.1\r\nHost: c\r\nnonsense\r\n\r\n'],
    ['lowercase method', 'get / HTTP/1.1\r\nHost: c\r\n\r\n'],
  ])('leaves %s to node:http', (_what, text) => {
    expect(readHead(head(text), 0)).toBe('unusual');
  });
});

describe('createReplayBytes', () => {
  const answer: HotAnswer = {
    head: { 'docker-distribution-api-version': 'registry/2.0', 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': `sha256:${'a'.repeat(64)}`, 'content-length': '19' },
    body: Buffer.from('{"schemaVersion":2}'),
    digest: `sha256:${'a'.repeat(64)}` as HotAnswer['digest'],
    upstream: 'docker.io',
    repo: 'library/alpine',
    tag: undefined,
    expiresAt: Number.POSITIVE_INFINITY,
    counts: { upstream: 'docker.io', repo: 'library/alpine', hits: 0, bytes: 0, queued: false },
  };

  it('writes what a node:http client reads as the answer: status, headers, Date, keep-alive, the body for GET only', async () => {
    const bytesOf = createReplayBytes(75_000);
    const now = Date.now();
    const server = createServer((req, res) => {
      res.socket?.end(bytesOf(answer, { method: req.method === 'HEAD' ? 'HEAD' : 'GET', close: false }, now));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      for (const method of ['GET', 'HEAD']) {
        const req = request({ host: '127.0.0.1', port, method, path: TARGET, agent: false });
        req.end();
        const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        expect(res.statusCode).toBe(200);
        expect(res.headers).toMatchObject({ ...answer.head, connection: 'keep-alive', 'keep-alive': 'timeout=75', date: new Date(Math.floor(now / 1000) * 1000).toUTCString() });
        expect(Buffer.concat(chunks).toString()).toBe(method === 'GET' ? '{"schemaVersion":2}' : '');
      }
    } finally {
      server.close();
    }
  });

  it('says Connection: close when the connection ends after it, and is prepared once a second', () => {
    const bytesOf = createReplayBytes(5_000);
    const now = 1_795_000_000_000;
    expect(bytesOf(answer, { method: 'HEAD', close: true }, now).toString('latin1')).toMatch(/\r\nConnection: close\r\n\r\n$/);
    expect(bytesOf(answer, { method: 'GET', close: false }, now)).toBe(bytesOf(answer, { method: 'GET', close: false }, now + 500));
    expect(bytesOf(answer, { method: 'GET', close: false }, now + 1000)).not.toBe(bytesOf(answer, { method: 'GET', close: false }, now));
  });
});
