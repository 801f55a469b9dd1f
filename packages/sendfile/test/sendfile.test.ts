/**
 * The addon against real sockets on 127.0.0.1: bytes arrive exactly, from any offset; a
 * client that stops reading is cut after the stall time; cancel stops a job; a client that
 * goes away fails the job with the errno; the caller may close its file at once; a dup of a
 * socket outlives Node's own descriptor; the sender threads carry their name; a socket under
 * BBR gets its low-water mark for unsent bytes, any other is left alone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { connect, createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSendfile, SendfileError, socketFd, type Sendfile } from '../src/index.js';

const MiB = 1024 * 1024;
const content = randomBytes(24 * MiB);
const path = join(tmpdir(), `sendfile-test-${process.pid}.bin`);
const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A server whose connections are handed to `onSocket`; a client that collects what it receives. */
async function pair(onSocket: (socket: Socket) => void): Promise<{ server: Server; client: Socket; received: Promise<Buffer> }> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const client = connect(address.port, '127.0.0.1');
  const chunks: Buffer[] = [];
  const received = new Promise<Buffer>((resolve) => {
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.on('close', () => resolve(Buffer.concat(chunks)));
  });
  client.on('error', () => undefined);
  return { server, client, received };
}

describe('sendfile addon', () => {
  let sendfile: Sendfile;
  let file: FileHandle;

  beforeAll(async () => {
    await writeFile(path, content);
    file = await open(path, 'r');
    const loaded = loadSendfile();
    // On Linux the addon must be built (npm ci runs node-gyp): a missing build fails here, not silently.
    expect(loaded, 'the addon is built and loads').toBeDefined();
    sendfile = loaded as Sendfile;
  });

  afterAll(async () => {
    await file?.close();
    await rm(path, { force: true });
  });

  it('sends a range of the file exactly', async () => {
    const sent: number[] = [];
    const { server, received } = await pair((socket) => {
      const fd = socketFd(socket);
      expect(fd).toBeTypeOf('number');
      const job = sendfile.send(fd as number, file.fd, 5 * MiB + 3, 17 * MiB, 10_000);
      void job.done.then((n) => {
        sent.push(n);
        socket.end();
      });
    });
    const body = await received;
    server.close();
    expect(sent).toEqual([17 * MiB]);
    expect(sha(body)).toBe(sha(content.subarray(5 * MiB + 3, 22 * MiB + 3)));
  });

  it('gives a socket it sends on the unsent low-water mark under bbr, and leaves any other as it was', async () => {
    const systemDefault = (await readFile('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8')).trim();
    let tuning: ReturnType<Sendfile['tcpTuning']>;
    let before: ReturnType<Sendfile['tcpTuning']>;
    const { server, received } = await pair((socket) => {
      const fd = socketFd(socket) as number;
      before = sendfile.tcpTuning(fd);
      void sendfile.send(fd, file.fd, 0, MiB, 10_000).done.then(() => {
        tuning = sendfile.tcpTuning(fd);
        socket.end();
      });
    });
    await received;
    server.close();
    expect(before).toEqual({ congestion: systemDefault, notsentLowat: 0 });
    expect(tuning).toEqual({ congestion: systemDefault, notsentLowat: systemDefault === 'bbr' ? 64 * 1024 : 0 });
    expect(sendfile.tcpTuning(file.fd)).toBeUndefined();
  });

  it('runs its senders as threads named regcache-send', async () => {
    const names = await Promise.all(
      (await readdir('/proc/self/task')).map(async (tid) => (await readFile(`/proc/self/task/${tid}/comm`, 'utf8').catch(() => '')).trim()),
    );
    // The earlier tests have sent, so the pool is running: one thread per CPU, at most four.
    expect(names.filter((name) => name === 'regcache-send').length).toBeGreaterThanOrEqual(1);
  });

  it('stops at the end of the file and says how much it sent', async () => {
    let result: number | undefined;
    const { server, received } = await pair((socket) => {
      void sendfile.send(socketFd(socket) as number, file.fd, content.length - 1000, 5000, 10_000).done.then((n) => {
        result = n;
        socket.end();
      });
    });
    expect((await received).length).toBe(1000);
    server.close();
    expect(result).toBe(1000);
  });

  it('keeps working when the caller closes its file right after starting', async () => {
    const own = await open(path, 'r');
    const { server, received } = await pair((socket) => {
      const job = sendfile.send(socketFd(socket) as number, own.fd, 0, content.length, 10_000);
      void own.close();
      void job.done.then(() => socket.end());
    });
    expect(sha(await received)).toBe(sha(content));
    server.close();
  });

  it('cuts a client that stops reading after the stall time, and cancel stops a job', async () => {
    const errors: unknown[] = [];
    let jobs = 0;
    const { server, client } = await pair((socket) => {
      jobs += 1;
      const job = sendfile.send(socketFd(socket) as number, file.fd, 0, content.length, 300);
      job.done.catch((error: unknown) => errors.push(error));
    });
    client.pause();
    await expect.poll(() => errors.length, { timeout: 5000 }).toBe(1);
    expect(errors[0]).toBeInstanceOf(SendfileError);
    expect((errors[0] as SendfileError).code).toBe('ETIMEDOUT');
    expect((errors[0] as SendfileError).sent).toBeLessThan(content.length);
    client.destroy();
    server.close();
    expect(jobs).toBe(1);

    const cancelled: unknown[] = [];
    const second = await pair((socket) => {
      const job = sendfile.send(socketFd(socket) as number, file.fd, 0, content.length, 0);
      job.done.catch((error: unknown) => cancelled.push(error));
      setTimeout(() => job.cancel(), 100);
    });
    second.client.pause();
    await expect.poll(() => cancelled.length, { timeout: 5000 }).toBe(1);
    expect((cancelled[0] as SendfileError).code).toBe('ECANCELED');
    second.client.destroy();
    second.server.close();
  });

  it('fails the job with the errno when the client goes away', async () => {
    const errors: unknown[] = [];
    const { server, client } = await pair((socket) => {
      const job = sendfile.send(socketFd(socket) as number, file.fd, 0, content.length, 10_000);
      job.done.catch((error: unknown) => errors.push(error));
    });
    client.pause();
    setTimeout(() => client.resetAndDestroy(), 100);
    await expect.poll(() => errors.length, { timeout: 5000 }).toBe(1);
    expect(['ECONNRESET', 'EPIPE']).toContain((errors[0] as SendfileError).code);
    server.close();
  });

  it('serves many sockets at once, each its own bytes', async () => {
    const ranges = Array.from({ length: 12 }, (_, i) => ({ offset: i * MiB, length: 8 * MiB + i }));
    const bodies = await Promise.all(
      ranges.map(async ({ offset, length }) => {
        const { server, received } = await pair((socket) => {
          void sendfile.send(socketFd(socket) as number, file.fd, offset, length, 10_000).done.then(() => socket.end());
        });
        const body = await received;
        server.close();
        return body;
      }),
    );
    bodies.forEach((body, i) => {
      const { offset, length } = ranges[i] as { offset: number; length: number };
      expect(sha(body)).toBe(sha(content.subarray(offset, offset + length)));
    });
  });

  it('gives no descriptor for a socket that is not connected', () => {
    expect(socketFd(undefined)).toBeUndefined();
    expect(socketFd(null)).toBeUndefined();
  });

  it('dup: a second descriptor keeps the connection open after Node closes its own, and writes through it arrive', async () => {
    const { server, client, received } = await pair((socket) => {
      const copy = sendfile.dup(socketFd(socket) ?? -1);
      socket.destroy(); // Node closes its descriptor: the connection must stay open through the copy
      const adopted = new Socket({ fd: copy, readable: true, writable: true });
      adopted.end('through the copy');
    });
    expect((await received).toString()).toBe('through the copy');
    server.close();
    expect(() => sendfile.dup(1 << 20)).toThrow(SendfileError);
    client.destroy();
  });
});
