/**
 * The admin API refuses what a web page on this host can send it: anything with an Origin
 * header (a cross-site POST needs no preflight when it is text/plain), and on a TCP listener a
 * Host that is not a loopback name (DNS rebinding). A refused POST /rm forgets nothing. The
 * CLI's own requests, curl's and a scraper's are answered as before, over TCP and a unix socket.
 * And an operation that fails on its input before it has sent anything gets a 400 with a JSON
 * error, as a bad body does, rather than a 200 whose stream holds the error; a bad image reference
 * is named by its place and why.
 */
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@regcache/testkit';
import { useProxiedCache } from './helpers.js';
import { startAdmin, type AdminListener } from './ops-helpers.js';
import { httpPull, pushTinyImage } from './images.js';

interface Answer {
  status: number;
  body: string;
}

type Target = { port: number } | { socketPath: string };

/** One raw request (node:http sends exactly the headers given, Host included). */
function ask(target: Target, method: string, path: string, headers: Record<string, string>, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, host: '127.0.0.1', method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('admin API guard against web pages', () => {
  const fx = useProxiedCache();
  let tcp: AdminListener;
  let unix: Server;
  let port: number;
  let socketPath: string;

  beforeAll(async () => {
    tcp = await startAdmin(fx().cache.cache);
    port = Number(new URL(tcp.url).port);
    socketPath = join(await tempDir('regcache-admin-guard-'), 'admin.sock');
    unix = createServer((req, res) => void fx().cache.cache.adminHandler(req, res));
    await new Promise<void>((resolve) => unix.listen(socketPath, resolve));
  });
  afterAll(async () => {
    await tcp?.close();
    unix?.closeAllConnections();
    await new Promise<void>((resolve) => (unix ? unix.close(() => resolve()) : resolve()));
  });

  it('answers loopback Host names over TCP, and any Host over a unix socket', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, '127.1.2.3', 'localhost']) {
      expect((await ask({ port }, 'GET', '/healthz', { host })).status, host).toBe(200);
    }
    for (const host of ['localhost', 'regcache', 'evil.example:5001']) {
      expect((await ask({ socketPath }, 'GET', '/stats', { host })).status, host).toBe(200);
    }
  });

  it('refuses other Host names over TCP (DNS rebinding)', async () => {
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `localhost.evil.example`, `127.0.0.256:${port}`, `10.0.0.1:${port}`]) {
      const answer = await ask({ port }, 'GET', '/stats', { host });
      expect(answer.status, host).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { kind: 'input', message: expect.stringContaining('loopback name') } });
    }
  });

  it('refuses any request with an Origin header, and a refused rm forgets nothing', async () => {
    const { upstream, cache } = fx();
    const image = await pushTinyImage(upstream, 'guard/app', 'v1');
    expect((await httpPull(cache.url, 'guard/app', 'v1')).digest).toBe(image.digest);
    const tag = () => cache.cache.store.getTag('docker.io', 'guard/app', 'v1');
    const rm = JSON.stringify({ images: ['guard/app:v1'] });
    for (const target of [{ port }, { socketPath }]) {
      const answer = await ask(target, 'POST', '/rm', { host: `127.0.0.1:${port}`, origin: 'http://evil.example', 'content-type': 'text/plain' }, rm);
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { message: expect.stringContaining('Origin') } });
      expect((await ask(target, 'GET', '/stats', { host: 'localhost', origin: 'null' })).status).toBe(403);
    }
    expect(await tag()).toMatchObject({ digest: image.digest });
    // The same request without the Origin header runs.
    const allowed = await ask({ port }, 'POST', '/rm', { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, rm);
    expect(allowed.status).toBe(200);
    expect(allowed.body).toContain('"result"');
    expect(await tag()).toBeUndefined();
  });

  it('answers an operation that fails before any progress with its status and a JSON error, not a 200 stream', async () => {
    const cases: Array<[string, unknown]> = [
      ['/warm', { images: ['guard/app:v1'], platform: 'x' }],
      ['/rm', { images: ['Guard/App:v1'] }],
      ['/expire', { images: ['guard/app:v1'], allTags: true }],
    ];
    for (const [path, body] of cases) {
      const answer = await ask({ port }, 'POST', path, { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, JSON.stringify(body));
      expect([path, answer.status]).toEqual([path, 400]);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { kind: 'input' } });
    }
  });

  it('names the image reference it cannot take, and why', async () => {
    const cases: Array<[unknown[], string]> = [
      [[''], 'the image reference is empty'],
      [['guard/app:v1', '  '], 'image reference 2 of 2 is empty'],
      [[`guard/${'x'.repeat(1100)}:1`], 'the image reference is 1108 characters long; a repository name is at most 255'],
      [['guard/app:v1', 7], 'image reference 2 of 2 must be a string'],
      [[], '"images" must be a non-empty list of image references'],
    ];
    for (const [images, message] of cases) {
      const answer = await ask({ port }, 'POST', '/rm', { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, JSON.stringify({ images }));
      expect([answer.status, (JSON.parse(answer.body) as { error: { message: string } }).error.message]).toEqual([400, message]);
    }
  });
});
