/**
 * The built front worker (dist/front-worker.js) on its own, driven as the main thread drives it
 * (src/front/wire.ts), on a listening socket only it accepts on — so every request is known to
 * reach it: it replays an answer it was given, credits the replay, retires every copy the moment
 * the shared generation moves (a removal in the main thread), and hands over what it cannot
 * replay with the request head as the client sent it.
 */
import { once } from 'node:events';
import { request } from 'node:http';
import { createServer, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSendfile, socketFd } from '@regcache/sendfile';
import { createLoads, stopServing } from '../src/front/balance.js';
import type { FromFront, FrontData, ToFront, WireAnswer } from '../src/front/wire.js';

const SCRIPT = fileURLToPath(new URL('../dist/front-worker.js', import.meta.url));
const DIGEST = `sha256:${'a'.repeat(64)}`;
const TARGET = `/v2/front/app/manifests/${DIGEST}`;
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json';
const BODY = Buffer.from('{"schemaVersion":2}');

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { accept: ACCEPT, 'x-probe': 'kept' }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the front worker', () => {
  const generation = new Int32Array(new SharedArrayBuffer(4));
  const loads = createLoads(2);
  stopServing(loads, 0);
  const messages: FromFront[] = [];
  let worker: Worker;
  let port: number;

  beforeAll(async () => {
    const addon = loadSendfile();
    if (addon === undefined) throw new Error('the sendfile addon is not built');
    // A listening socket only the worker accepts on: ours is closed once the worker has its dup.
    const listener = createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as { port: number }).port;
    const connections = { headersTimeout: 5000, requestTimeout: 10_000, keepAliveTimeout: 5000, connectionsCheckingInterval: 1000 };
    // No main thread here: nothing is placed with index 0 until a test says so.
    const workerData: FrontData = { listenFd: addon.dup(socketFd(listener) ?? -1), byHost: false, generation, logsRequests: true, connections, loads, index: 1 };
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    // execArgv: [] — the built packages, not the test run's source condition.
    worker = new Worker(SCRIPT, { workerData, execArgv: [] });
    const ready = new Promise<void>((resolve) => {
      worker.on('message', (m: FromFront) => {
        messages.push(m);
        if (m.kind === 'ready') resolve();
      });
    });
    await ready;
  }, 20_000);
  afterAll(async () => {
    const stop: ToFront = { kind: 'stop' };
    worker?.postMessage(stop);
    if (worker !== undefined) await once(worker, 'exit');
  });

  const keep = (): void => {
    const message: ToFront = {
      kind: 'keep',
      key: { target: TARGET, accept: ACCEPT, host: '' },
      answer: { head: { 'content-type': ACCEPT, 'content-length': String(BODY.length), 'docker-content-digest': DIGEST }, body: BODY, digest: DIGEST as WireAnswer['digest'], upstream: 'docker.io', repo: 'front/app', tag: undefined, expiresAt: Number.POSITIVE_INFINITY },
      generation: Atomics.load(generation, 0),
    };
    worker.postMessage(message);
  };

  it('replays what it was given and credits it; retires it when the generation moves, and hands the request over', async () => {
    keep();
    await expect.poll(async () => (await get(port, TARGET)).body, { timeout: 5000 }).toBe(BODY.toString());
    await expect.poll(() => messages.some((m) => m.kind === 'credit' && m.credits.some((c) => c.digest === DIGEST && c.hits > 0)), { timeout: 2000 }).toBe(true);
    const credit = messages.find((m) => m.kind === 'credit');
    expect(credit?.kind === 'credit' && credit.records[0]).toMatchObject({ method: 'GET', path: TARGET, bytes: BODY.length, upstream: 'docker.io', repo: 'front/app' });

    // A removal in the main thread: the copy must not be replayed again.
    Atomics.add(generation, 0, 1);
    const pending = get(port, TARGET);
    await expect.poll(() => messages.some((m) => m.kind === 'handoff'), { timeout: 5000 }).toBe(true);
    const handoff = messages.find((m) => m.kind === 'handoff');
    if (handoff?.kind !== 'handoff') throw new Error('no handoff');
    // Every byte of the request, exactly as the client sent it.
    const unread = Buffer.from(handoff.unread).toString('latin1');
    expect(unread).toMatch(new RegExp(`^GET ${TARGET} HTTP/1\\.1\\r\\n`));
    expect(unread).toContain('x-probe: kept\r\n');
    expect(unread.endsWith('\r\n\r\n')).toBe(true);
    // The connection came with it: answer on the handed-over descriptor, as the main thread would.
    const socket = new Socket({ fd: handoff.fd, readable: true, writable: true });
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nmain');
    expect(await pending).toEqual({ status: 200, body: 'main' });

    // Given again at the new generation, it replays again.
    keep();
    await expect.poll(async () => (await get(port, TARGET)).body, { timeout: 5000 }).toBe(BODY.toString());
  });

  it('gives a connection it accepts to the thread that serves two fewer, before reading from it, and serves its own', async () => {
    // The last test's connections are closed first (each is counted until its close event).
    await expect.poll(() => Atomics.load(loads, 1), { timeout: 5000 }).toBe(0);
    // Two connections of the front's, open: it now serves two, the (absent) main thread none.
    const held = [new Socket(), new Socket()];
    for (const socket of held) await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
    await expect.poll(() => Atomics.load(loads, 1), { timeout: 2000 }).toBe(2);
    Atomics.store(loads, 0, 0);
    const before = messages.length;
    const pending = get(port, '/v2/not/hot/manifests/latest');
    await expect.poll(() => messages.slice(before).some((m) => m.kind === 'give'), { timeout: 5000 }).toBe(true);
    const given = messages.slice(before).find((m) => m.kind === 'give');
    if (given?.kind !== 'give') throw new Error('no give');
    expect(given.to).toBe(0);
    expect(Atomics.load(loads, 0)).toBe(1); // counted where it went
    expect(Atomics.load(loads, 1)).toBe(2); // the front still serves only the held ones
    // The request was not read by the front: it is all there on the given descriptor.
    const socket = new Socket({ fd: given.fd, readable: true, writable: true });
    const [head] = (await once(socket, 'data')) as [Buffer];
    expect(head.toString('latin1')).toMatch(/^GET \/v2\/not\/hot\/manifests\/latest HTTP\/1\.1\r\n/);
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nmain');
    expect(await pending).toEqual({ status: 200, body: 'main' });
    // Two against one is within the slack: the next connection stays with the front, and closing ones are counted.
    expect((await get(port, TARGET)).status).toBe(200);
    expect(messages.slice(before).filter((m) => m.kind === 'give')).toHaveLength(1);
    for (const socket of held) socket.destroy();
    await expect.poll(() => Atomics.load(loads, 1), { timeout: 2000 }).toBe(0);
    stopServing(loads, 0);
  });
});
