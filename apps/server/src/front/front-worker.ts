/**
 * A front thread: accepts connections on the registry's listening socket next to the main
 * thread (the kernel gives each connection to one of them) and answers what it can from its
 * copy of the hot manifest answers — the requests kubelets and CI runners send most. One
 * thread's event loop tops out at a few tens of thousands of small answers per second, most of
 * it the kernel's loopback/TCP work in `writev`; a second thread doubles that on a second core.
 *
 * Anything it cannot replay — a blob, a miss, a stale tag, an admin of the hot table's making —
 * is not its business: it hands the connection to the main thread (a dup of the socket and the
 * request head, which the main thread's server reads again) and closes its own descriptor. The
 * connection then stays with the main thread. A request with a body cannot be handed over (its
 * bytes may be read already); a read-only cache refuses it anyway, so it is refused here.
 *
 * Copies are only ever valid while the hot table's generation (shared memory) reads what it
 * read when the answer was kept: the main thread bumps it before anything leaves its table.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { createHotResponses, rawHeader, refuseConnect, sendError, writeReplay, type HitCell, type HotAnswer, type ReplayCredit, type ReplayRecord } from '@regcache/proxy-core/front';
import { loadSendfile, socketFd } from '@regcache/sendfile';
import { applyConnectionLimits } from '../connection-limits.js';
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

function replay(req: IncomingMessage, res: ServerResponse, answer: HotAnswer): void {
  const started = data.logsRequests ? performance.now() : 0;
  const bytes = writeReplay(res, answer, req.method);
  const cell = answer.counts;
  cell.hits += 1;
  cell.bytes += bytes;
  if (!cell.queued) {
    cell.queued = true;
    queued.push(answer);
  }
  if (data.logsRequests) {
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    records.push({ method: req.method ?? '', path: (req.url ?? '').slice(0, 512), bytes, durationMs, upstream: answer.upstream, repo: answer.repo });
  }
}

/** The request head as the client sent it, for the main thread's parser. */
function requestHead(req: IncomingMessage): string {
  let head = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}\r\n`;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) head += `${req.rawHeaders[i] ?? ''}: ${req.rawHeaders[i + 1] ?? ''}\r\n`;
  return `${head}\r\n`;
}

function handOff(req: IncomingMessage, res: ServerResponse): void {
  const fd = socketFd(req.socket);
  if (fd === undefined || addon === undefined) return void res.destroy();
  const copy = addon.dup(fd);
  post({ kind: 'handoff', fd: copy, head: requestHead(req) });
  // Closes this thread's descriptor (and its epoll registration) now, before the loop reads again.
  req.socket.destroy();
}

const hasBody = (req: IncomingMessage): boolean => {
  const length = rawHeader(req.rawHeaders, 'content-length');
  return (length !== '' && length !== '0') || rawHeader(req.rawHeaders, 'transfer-encoding') !== '';
};

const server = createServer({ ...data.connections }, (req, res) => {
  const answer = current().lookup(req);
  if (answer !== undefined) return replay(req, res, answer);
  if (!hasBody(req)) return handOff(req, res);
  const message = 'regcache is a read-only pull-through cache: a request with a body is not supported';
  sendError(res, { code: 'UNSUPPORTED', message, headers: { connection: 'close' } }, req.method === 'HEAD');
});
server.on('connect', refuseConnect);
applyConnectionLimits(server, data.connections);
server.listen({ fd: data.listenFd }, () => post({ kind: 'ready' }));

const timer = setInterval(credit, CREDIT_MS);
port.on('message', (message: ToFront) => {
  if (message.kind === 'keep') return keep(message);
  // stop: accept no more, close every connection (between requests all are idle: replays are synchronous), report, end.
  clearInterval(timer);
  server.close();
  server.closeAllConnections();
  credit();
  port.close();
});
