/**
 * The replay loops in C (src/front/native-front.ts, @regcache/sendfile's src/replay.c), in the
 * real server with a front thread: hot answers are replayed by the loops' own threads and each
 * replay is still logged and counted; a request with If-None-Match is never replayed (the
 * normal path answers it 304) even between replays on one connection; a client that sends a new head every time (a trace id
 * per request) is answered right past the loop's lessons (it is then served in JavaScript), on
 * one connection; a head the loop knows for a tag that moved is answered fresh after the TTL;
 * a client that opens with a TLS ClientHello (skopeo tries https first) is refused at once, not
 * at headersTimeout; and with REGCACHE_NATIVE_REPLAY=0 no loop runs and the same requests get
 * the same answers.
 */
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushSmallImage, startRegistry, tempDir, type RunningRegistry, type SmallImage } from '@regcache/testkit';
import { head, openClient } from './responses.js';
import { runServer, type ServerProcess } from './spawn.js';

/** The names of a process's threads. */
const threadNames = (pid: number): string[] => readdirSync(`/proc/${pid}/task`).map((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim());


describe.each([
  { loops: true, env: {} },
  { loops: false, env: { REGCACHE_NATIVE_REPLAY: '0' } },
])('hot answers with replay loops: $loops', ({ loops, env }) => {
  let upstream: RunningRegistry;
  let image: SmallImage;
  let server: ServerProcess;

  beforeAll(async () => {
    upstream = await startRegistry();
    image = await pushSmallImage(upstream, 'native/app', 'v1', 16 * 1024);
    const dir = await tempDir('regcache-native-');
    await writeFile(`${dir}/regcache.yaml`, `upstreams:\n  - name: docker.io\n    url: ${upstream.url}\n    tagTtl: 1s\nlimits:\n  frontThreads: 1\n`);
    server = await runServer(['--config', `${dir}/regcache.yaml`, '--listen', '127.0.0.1:0', '--data', `${dir}/data`], env);
  }, 120_000);
  afterAll(async () => {
    if (server !== undefined) expect(await server.stop('SIGTERM')).toBe(0);
    await upstream?.stop();
  });

  it('replays on the loops’ threads, and logs every replay', async () => {
    const pid = server.child.pid ?? 0;
    expect(threadNames(pid).filter((n) => n === 'regcache-replay')).toHaveLength(loops ? 2 : 0);
    const byDigest = `/v2/${image.name}/manifests/${image.digest}`;
    const client = await openClient(server.address);
    try {
      for (let i = 0; i < 40; i++) {
        const answer = await client.ask(head(i % 2 === 0 ? 'GET' : 'HEAD', byDigest));
        expect(answer.status).toBe(200);
        expect(answer.headers['docker-content-digest']).toBe(image.digest);
        expect(answer.headers.date).toBe(new Date(Date.parse(answer.headers.date ?? '')).toUTCString());
      }
    } finally {
      client.socket.destroy();
    }
    // The first was the normal path's (a miss: it made the answer hot); every one after is a hit, logged.
    const logged = (): unknown[] => server.lines.filter((l) => l.msg === 'request' && l.path === byDigest).map((l) => l.cache);
    await expect.poll(logged, { timeout: 3000 }).toEqual(['miss', ...Array<string>(39).fill('hit')]);
  });

  it('logs a replay’s query values as … (but the API’s own), as the normal path does', async () => {
    const target = `/v2/${image.name}/manifests/${image.digest}?token=s3cr3t-in-a-query&ns=docker.io`;
    const client = await openClient(server.address);
    try {
      for (let i = 0; i < 20; i++) expect((await client.ask(head('GET', target))).status).toBe(200);
    } finally {
      client.socket.destroy();
    }
    const logged = (): unknown[] => server.lines.filter((l) => l.msg === 'request' && String(l.path).includes('?token=')).map((l) => l.path);
    await expect.poll(() => logged().length, { timeout: 3000 }).toBe(20);
    expect(new Set(logged())).toEqual(new Set([`/v2/${image.name}/manifests/${image.digest}?token=…&ns=docker.io`]));
    expect(JSON.stringify(server.lines)).not.toContain('s3cr3t');
  });

  it('answers If-None-Match with 304 for a hot answer, between replays of it on one connection', async () => {
    const byDigest = `/v2/${image.name}/manifests/${image.digest}`;
    const client = await openClient(server.address);
    try {
      for (let i = 0; i < 12; i++) {
        const method = i % 4 < 2 ? 'GET' : 'HEAD';
        const conditional = i % 2 === 1;
        const answer = await client.ask(head(method, byDigest, conditional ? `If-None-Match: "${image.digest}"\r\n` : ''));
        expect(answer.status, `${method} conditional: ${conditional}`).toBe(conditional ? 304 : 200);
        expect(answer.headers.etag).toBe(`"${image.digest}"`);
        if (conditional) expect(answer.headers['content-length']).toBeUndefined();
      }
      expect(client.socket.destroyed).toBe(false);
    } finally {
      client.socket.destroy();
    }
  });

  it('answers a client that sends a new head every time, on one connection, past the lessons', async () => {
    const byDigest = `/v2/${image.name}/manifests/${image.digest}`;
    const client = await openClient(server.address);
    try {
      for (let i = 0; i < 150; i++) {
        const answer = await client.ask(head('GET', byDigest, `X-Trace: ${i}\r\n`));
        expect(answer.status).toBe(200);
        expect(answer.headers['docker-content-digest']).toBe(image.digest);
        expect(answer.body.length).toBe(Number(answer.headers['content-length']));
      }
      expect(client.socket.destroyed).toBe(false);
    } finally {
      client.socket.destroy();
    }
  });

  it('follows a moved tag after its TTL on a connection whose head the loop knows', async () => {
    const byTag = `/v2/${image.name}/manifests/${image.tag}`;
    const client = await openClient(server.address);
    try {
      expect((await client.ask(head('HEAD', byTag))).headers['docker-content-digest']).toBe(image.digest);
      expect((await client.ask(head('HEAD', byTag))).headers['docker-content-digest']).toBe(image.digest);
      const moved = await pushSmallImage(upstream, image.name, image.tag, 8 * 1024);
      await expect.poll(async () => (await client.ask(head('HEAD', byTag))).headers['docker-content-digest'], { timeout: 5000, interval: 200 }).toBe(moved.digest);
      image = moved;
    } finally {
      client.socket.destroy();
    }
  });

  it('refuses a TLS ClientHello at once (skopeo falls back to plain http only after that)', async () => {
    const [host, port] = server.address.split(':');
    const socket = connect(Number(port), host);
    await once(socket, 'connect');
    const started = Date.now();
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => undefined);
    // The first bytes of a TLS 1.2 ClientHello record: no CRLF anywhere, no request line.
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, ...Buffer.alloc(32, 7)]));
    await once(socket, 'close');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(Buffer.concat(received).toString('latin1')).toMatch(/^HTTP\/1\.1 400 /);
  });
});
