/**
 * The receive loop against real sockets on 127.0.0.1 and real files: the prefix and the rest of
 * the body land in the file exactly, with their SHA-256, and progress only ever reports bytes
 * already in the file; an upstream that closes early, goes quiet or is cancelled fails the job
 * with what it wrote; a file that refuses the write gives the unwritten bytes back and leaves
 * the rest of the body in the socket for Node; the loop's threads carry their name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadReceive, ReceiveError, socketFd, type Receive, type ReceiveArgs } from '../src/index.js';

const MiB = 1024 * 1024;
const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
let counter = 0;

interface Upstream {
  server: Server;
  /** Node's side of the connection that the loop reads, paused as a fill hands it over. */
  socket: Socket;
  fd: number;
  /** The peer that plays the upstream. */
  peer: Socket;
}

/** A connected pair: `peer` writes what the test says, `socket` is paused before any byte is read. */
async function upstreamPair(): Promise<Upstream> {
  let peerResolve: (socket: Socket) => void = () => undefined;
  const peerReady = new Promise<Socket>((resolve) => (peerResolve = resolve));
  const server = createServer((peer) => {
    peer.on('error', () => undefined);
    peerResolve(peer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const socket = connect(address.port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const fd = socketFd(socket);
  if (fd === undefined) throw new Error('no descriptor');
  return { server, socket, fd, peer: await peerReady };
}

describe('receive loop', () => {
  let receive: Receive;
  const cleanups: Array<() => Promise<void> | void> = [];
  /** An empty file, opened for writing (or, to refuse every write, read-only). */
  const file = async (mode: 'w+' | 'r' = 'w+'): Promise<{ handle: FileHandle; path: string }> => {
    const path = join(tmpdir(), `receive-test-${process.pid}-${++counter}.bin`);
    await writeFile(path, '');
    const handle = await open(path, mode);
    cleanups.push(async () => {
      await handle.close().catch(() => undefined);
      await rm(path, { force: true });
    });
    return { handle, path };
  };
  const start = (up: Upstream, handle: FileHandle, rest: Partial<ReceiveArgs> & { length: number }) => {
    const reports: number[] = [];
    const job = receive({ socketFd: up.fd, fileFd: handle.fd, prefix: Buffer.alloc(0), idleMs: 0, progress: (n) => reports.push(n), ...rest });
    cleanups.push(() => {
      job.cancel();
      up.socket.destroy();
      up.peer.destroy();
      up.server.close();
    });
    return { job, reports };
  };

  beforeAll(() => {
    const loaded = loadReceive();
    expect(loaded, 'the addon is built and loads').toBeDefined();
    receive = loaded as Receive;
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('writes the prefix and the rest of the body exactly, with their SHA-256; progress never runs ahead of the file', async () => {
    const body = randomBytes(24 * MiB + 123);
    const prefix = body.subarray(0, 70_000);
    const up = await upstreamPair();
    const { handle, path } = await file();
    const sizes: number[] = [];
    const { job, reports } = start(up, handle, {
      prefix,
      length: body.length - prefix.length,
      progress: (n) => {
        reports.push(n);
        void handle.stat().then((s) => sizes.push(s.size - n));
      },
    });
    up.peer.write(body.subarray(prefix.length));
    const done = await job.done;
    expect(done).toEqual({ written: body.length, sha256: sha(body) });
    expect(sha(await readFile(path))).toBe(sha(body));
    expect(reports.length).toBeGreaterThan(1);
    expect(reports).toEqual([...reports].sort((a, b) => a - b));
    expect(Math.max(...reports)).toBeLessThanOrEqual(body.length);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sizes.every((extra) => extra >= 0)).toBe(true);
  });

  it('reports a trickle within tens of milliseconds, not only per MiB', async () => {
    const up = await upstreamPair();
    const { handle } = await file();
    const { job, reports } = start(up, handle, { length: 3000 });
    up.peer.write(randomBytes(1000));
    await expect.poll(() => reports.at(-1), { timeout: 2000, interval: 10 }).toBe(1000);
    up.peer.write(randomBytes(2000));
    expect((await job.done).written).toBe(3000);
  });

  it('fails with EPIPE (upstream) when the upstream closes before the announced length, after writing what came', async () => {
    const up = await upstreamPair();
    const { handle } = await file();
    const { job } = start(up, handle, { length: 10 * MiB });
    up.peer.end(randomBytes(3 * MiB));
    const error = await job.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReceiveError);
    expect(error).toMatchObject({ code: 'EPIPE', side: 'upstream', written: 3 * MiB, unwritten: undefined });
  });

  it('fails with ETIMEDOUT (upstream) when the upstream goes quiet for the idle time, and a cancel stops a job', async () => {
    const up = await upstreamPair();
    const { handle } = await file();
    const started = performance.now();
    const quiet = start(up, handle, { length: MiB, idleMs: 300 });
    up.peer.write(randomBytes(1000));
    await expect(quiet.job.done).rejects.toMatchObject({ code: 'ETIMEDOUT', side: 'upstream', written: 1000 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);

    const second = await upstreamPair();
    const other = await file();
    const cancelled = start(second, other.handle, { length: MiB });
    setTimeout(() => cancelled.job.cancel(), 50);
    await expect(cancelled.job.done).rejects.toMatchObject({ code: 'ECANCELED', side: 'cancel' });
  });

  it('gives back the bytes a refused write held, and leaves the rest of the body in the socket for Node', async () => {
    const body = randomBytes(2 * MiB);
    const up = await upstreamPair();
    const { handle } = await file('r');
    const { job } = start(up, handle, { prefix: body.subarray(0, 1000), length: body.length - 1000 });
    up.peer.write(body.subarray(1000));
    const error = (await job.done.catch((e: unknown) => e)) as ReceiveError;
    expect(error).toMatchObject({ code: 'EBADF', side: 'disk', written: 0 });
    expect(error.unwritten).toEqual(body.subarray(0, 1000));
    const rest: Buffer[] = [];
    up.socket.on('data', (chunk: Buffer) => rest.push(chunk));
    up.socket.resume();
    await expect.poll(() => Buffer.concat(rest).length, { timeout: 5000 }).toBe(body.length - 1000);
    // Buffer#equals: vitest's deep equality walks 2 MiB byte by byte for seconds.
    expect(Buffer.concat(rest).equals(body.subarray(1000))).toBe(true);
  });

  it('runs each job on a thread named regcache-fill, which ends with the job', async () => {
    const threads = async (): Promise<string[]> => {
      const tasks = await readdir('/proc/self/task');
      return Promise.all(tasks.map((t) => readFile(`/proc/self/task/${t}/comm`, 'utf8').then((s) => s.trim(), () => '')));
    };
    const up = await upstreamPair();
    const { handle } = await file();
    const { job } = start(up, handle, { length: 1000 });
    await expect.poll(async () => (await threads()).filter((n) => n === 'regcache-fill').length).toBe(1);
    up.peer.write(randomBytes(1000));
    await job.done;
    await expect.poll(async () => (await threads()).filter((n) => n === 'regcache-fill').length).toBe(0);
  });
});
