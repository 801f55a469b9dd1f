/**
 * What replay.test.ts and replay-limits.test.ts share: request heads and answers, Date checks,
 * and `useReplayLoops()` — registered in a describe block, it gives loops on fresh shared
 * counters, connected clients whose server side is handed to the loop as a dup (Node's own
 * socket closed before reading), and stops and closes everything after each test.
 */
import { closeSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, beforeAll, expect } from 'vitest';
import { loadReplay, loadSendfile, socketFd, type ReplayLesson, type ReplayLoopOptions, type Sendfile, type StartReplayLoop } from '../src/index.js';

export const INDEX = 1;
export const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT';
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const head = (line: string, extra = ''): Buffer => Buffer.from(`${line} HTTP/1.1\r\nHost: registry.test\r\n${extra}\r\n`, 'latin1');
/** An answer; with `dated`, a Date header the loop rewrites (EPOCH until then). */
export const answer = (body: Buffer | string, { dated = true, extra = '' } = {}): Buffer =>
  Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\n${dated ? `Date: ${EPOCH}\r\n` : ''}Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n`, 'latin1'), Buffer.from(body)]);
/** The bytes with every Date value set back to EPOCH, and the values found. */
export function undate(bytes: Buffer): { bytes: Buffer; dates: string[] } {
  const dates: string[] = [];
  const text = bytes.toString('latin1').replace(/\r\nDate: (.{29})\r\n/g, (_, date: string) => {
    dates.push(date);
    return `\r\nDate: ${EPOCH}\r\n`;
  });
  return { bytes: Buffer.from(text, 'latin1'), dates };
}
/** The current second, give or take one, as toUTCString writes it. */
export const aroundNow = (): string[] => [-1000, 0, 1000].map((d) => new Date(Date.now() + d).toUTCString());
/** A Date value written as toUTCString writes it, for a second between `since` (Date.now()) and now. */
export function expectDate(date: string | undefined, since: number): void {
  const at = Date.parse(date ?? '');
  expect(new Date(at).toUTCString()).toBe(date);
  expect(at > since - 1000 && at <= Date.now(), `${date} is between ${new Date(since).toUTCString()} and now`).toBe(true);
}

/** A client's view: what it received, when (performance.now(); 0: not yet), whether it closed; `since`: Date.now() at its start. */
export interface Client { socket: Socket; length: number; bytes(): Buffer; dataAt: number; endedAt: number; closed: boolean; adoptedAt: number; since: number }
/** What onMiss got; fd -1 once the test took the descriptor. */
export interface Miss { fd: number; unread: Buffer; learned: number }

export function useReplayLoops() {
  let start: StartReplayLoop;
  let sendfile: Sendfile;
  const cleanups: Array<() => void> = [];

  beforeAll(() => {
    const [replay, loaded] = [loadReplay(), loadSendfile()];
    expect(replay, 'the addon is built and loads').toBeDefined();
    expect(loaded).toBeDefined();
    start = replay as StartReplayLoop;
    sendfile = loaded as Sendfile;
  });

  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  /** A connected client and a dup of the server side's descriptor (Node's own closed, nothing read). */
  async function accept(): Promise<{ client: Client; fd: number }> {
    const server = createServer({ pauseOnConnect: true });
    cleanups.push(() => server.close());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const client: Client = { socket, length: 0, bytes: () => Buffer.concat(chunks), dataAt: 0, endedAt: 0, closed: false, adoptedAt: 0, since: Date.now() };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      client.length += chunk.length;
      client.dataAt = performance.now();
    });
    socket.on('end', () => (client.endedAt = performance.now()));
    socket.on('close', () => (client.closed = true));
    socket.on('error', () => undefined);
    cleanups.push(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const peer = await accepted;
    const fd = sendfile.dup(socketFd(peer) ?? -1);
    peer.destroy();
    server.close();
    return { client, fd };
  }

  /** A loop on fresh shared counters; `teach` numbers ids from 1, `adopt` gives it a new connection as the caller does. */
  function loop(options: Partial<Pick<ReplayLoopOptions, 'headersTimeout' | 'keepAliveTimeout' | 'recording'>> = {}) {
    const generation = new Int32Array(new SharedArrayBuffer(4));
    const loads = new Int32Array(new SharedArrayBuffer(8));
    const misses: Miss[] = [];
    let stopped = false;
    const onMiss = (fd: number, unread: Buffer, learned: number): void => void (stopped ? closeSync(fd) : misses.push({ fd, unread, learned }));
    const replay = start({ generation, loads, index: INDEX, headersTimeout: 10_000, keepAliveTimeout: 10_000, recording: false, ...options, onMiss });
    cleanups.push(() => {
      stopped = true;
      replay.stop();
      for (const miss of misses) if (miss.fd >= 0) closeSync(miss.fd);
    });
    let nextId = 1;
    return {
      replay, generation, loads, misses,
      teach(h: Buffer, response: Buffer, lesson: Partial<ReplayLesson> = {}): void {
        const taught = { head: h, response, id: nextId++, bodyBytes: 0, close: false, generation: Atomics.load(generation, 0), expiresAt: Infinity, ...lesson };
        expect(replay.learn(taught)).toBe(true);
      },
      async adopt(unread?: Buffer, learned = 0): Promise<Client> {
        const { client, fd } = await accept();
        Atomics.add(loads, INDEX, 1); // the caller counts a connection to the thread before giving it
        expect(replay.adopt(fd, unread, learned)).toBe(true);
        client.adoptedAt = performance.now();
        return client;
      },
    };
  }

  /** The miss's descriptor, the test's from here. */
  function own(miss: Miss | undefined): number {
    const fd = miss?.fd ?? -1;
    if (miss !== undefined) miss.fd = -1;
    return fd;
  }
  /** What take() counted, as id → [hits, bytes]. */
  const countsOf = (counts: Float64Array | undefined): Map<number, [number, number]> => {
    const byId = new Map<number, [number, number]>();
    for (let i = 0; counts !== undefined && i + 2 < counts.length; i += 3) byId.set(counts[i] ?? 0, [counts[i + 1] ?? 0, counts[i + 2] ?? 0]);
    return byId;
  };
  const expectAnswers = (client: Client, ...answers: Buffer[]): void => {
    const { bytes, dates } = undate(client.bytes());
    expect(bytes.toString('latin1')).toBe(Buffer.concat(answers).toString('latin1'));
    for (const date of dates) expectDate(date, client.since);
  };

  return { loop, accept, own, countsOf, expectAnswers, cleanups };
}
