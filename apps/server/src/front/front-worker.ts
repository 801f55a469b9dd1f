/**
 * A front thread: accepts connections on the registry's listening socket next to the main
 * thread (the kernel gives each connection to one of them) and answers what it can from its
 * copy of the hot manifest answers — the requests kubelets and CI runners send most. It reads
 * them without node:http (raw-front.ts, raw-head.ts): one thread answers ≈ 80k a second that
 * way on this kind of machine, against 45–50k through node:http.
 *
 * Anything it cannot replay — a blob, a miss, a stale tag, an unusual request — is not its
 * business: it hands the connection to the main thread (a dup of the socket and every byte
 * it read from that request on, which the main thread's server reads as its own) and closes
 * its own descriptor. The connection then stays with the main thread.
 *
 * Copies are only ever valid while the hot table's generation (shared memory) reads what it
 * read when the answer was kept: the main thread bumps it before anything leaves its table.
 */
import { createServer, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { createHotResponses, type HitCell, type HotAnswer, type ReplayCredit, type ReplayRecord } from '@regcache/proxy-core/front';
import { loadSendfile, socketFd } from '@regcache/sendfile';
import { serveRaw } from './raw-front.js';
import { createReplayBytes, type RawRequest } from './raw-head.js';
import type { FromFront, FrontData, ToFront } from './wire.js';

/** How often replays are credited to the main thread (its counters and metrics lag by this much). */
const CREDIT_MS = 100;

const data = workerData as FrontData;
const port = parentPort;
const addon = loadSendfile();
if (port === null || addon === undefined) throw new Error('front-worker: must run as a worker thread with the sendfile addon built');
const post = (message: FromFront): void => port.postMessage(message);

let table = createHotResponses({ byHost: data.byHost });
let tableGeneration = Atomics.load(data.generation, 0);
/** Answers replayed since the last credit (each counts its replays in its own cell). */
let queued: HotAnswer[] = [];
let records: ReplayRecord[] = [];

/** The table, emptied first if the main thread's table lost anything since it was filled. */
function current(): typeof table {
  const now = Atomics.load(data.generation, 0);
  if (now !== tableGeneration) {
    table = createHotResponses({ byHost: data.byHost });
    tableGeneration = now;
  }
  return table;
}

function keep(message: Extract<ToFront, { kind: 'keep' }>): void {
  const t = current();
  if (message.generation !== tableGeneration) return; // kept before a forget this thread has seen
  const { answer } = message;
  const counts: HitCell = { upstream: answer.upstream, repo: answer.repo, hits: 0, bytes: 0, queued: false };
  const body = Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength);
  t.keep(message.key, { ...answer, body, counts });
}

function credit(): void {
  if (queued.length === 0 && records.length === 0) return;
  const credits: ReplayCredit[] = queued.map(({ digest, counts: c }) => ({ digest, upstream: c.upstream, repo: c.repo, hits: c.hits, bytes: c.bytes }));
  for (const { counts } of queued) Object.assign(counts, { hits: 0, bytes: 0, queued: false });
  post({ kind: 'credit', credits, records });
  queued = [];
  records = [];
}

const bytesOf = createReplayBytes(data.connections.keepAliveTimeout);

function replayed(answer: HotAnswer, req: RawRequest, bytes: number, startedAt: number): void {
  const cell = answer.counts;
  cell.hits += 1;
  cell.bytes += bytes;
  if (!cell.queued) {
    cell.queued = true;
    queued.push(answer);
  }
  if (data.logsRequests) {
    const durationMs = Math.round((Date.now() - startedAt) * 10) / 10;
    records.push({ method: req.method, path: req.url.slice(0, 512), bytes, durationMs, upstream: answer.upstream, repo: answer.repo });
  }
}

function handOff(socket: Socket, unread: Buffer): void {
  const fd = socketFd(socket);
  if (fd === undefined || addon === undefined) return void socket.destroy();
  const copy = addon.dup(fd);
  post({ kind: 'handoff', fd: copy, unread });
  // Closes this thread's descriptor (and its epoll registration) now, before the loop reads again.
  socket.destroy();
}

const deps = { headersTimeout: data.connections.headersTimeout, keepAliveTimeout: data.connections.keepAliveTimeout, lookup: (req: RawRequest) => current().lookup(req), bytesOf, replayed, handOff };
const connections = new Set<Socket>();
const server = createServer((socket) => {
  connections.add(socket);
  socket.once('close', () => connections.delete(socket));
  serveRaw(socket, deps);
});
server.listen({ fd: data.listenFd }, () => post({ kind: 'ready' }));

const timer = setInterval(credit, CREDIT_MS);
port.on('message', (message: ToFront) => {
  if (message.kind === 'keep') return keep(message);
  // stop: accept no more, close every connection (between requests all are idle: replays are synchronous), report, end.
  clearInterval(timer);
  server.close();
  for (const socket of connections) socket.destroy();
  credit();
  port.close();
});
