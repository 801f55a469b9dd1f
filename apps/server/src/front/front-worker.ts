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
 * A connection it accepts while it serves more than another thread goes to that one at once
 * (balance.ts): a dup of the socket, through the main thread, before anything is read.
 *
 * Its copy of the table and its credits: replica.ts.
 */
import { createServer, Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { loadSendfile, type Sendfile } from '@regcache/sendfile';
import { createBalance } from './balance.js';
import { detachSocket } from './detach.js';
import { CREDIT_MS, startNativeFront } from './native-front.js';
import { serveRaw } from './raw-front.js';
import { createHeadReader, createReplayBytes } from './raw-head.js';
import { createReplica } from './replica.js';
import type { FromFront, FrontData, ToFront } from './wire.js';

const data = workerData as FrontData;
const port = parentPort;
const loaded = loadSendfile();
if (port === null || loaded === undefined) throw new Error('front-worker: must run as a worker thread with the sendfile addon built');
const addon: Sendfile = loaded;
const post = (message: FromFront): void => port.postMessage(message);

const replica = createReplica(data);

function keep(message: Extract<ToFront, { kind: 'keep' }>): void {
  const { answer } = message;
  const body = Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength);
  replica.keep(message.key, { ...answer, body }, message.generation);
}

function credit(): void {
  const taken = replica.takeCredits();
  const native = nativeFront?.take();
  if (taken === undefined && native === undefined) return;
  const credits = [...(taken?.credits ?? []), ...(native?.credits ?? [])];
  post({ kind: 'credit', credits, records: [...(taken?.records ?? []), ...(native?.records ?? [])] });
}

function handOff(socket: Socket, unread: Buffer): void {
  const fd = detachSocket(socket, addon);
  if (fd !== undefined) post({ kind: 'handoff', fd, unread });
}

const deps = {
  ...data.connections,
  readHead: createHeadReader(),
  lookup: replica.lookup,
  bytesOf: createReplayBytes(data.connections.keepAliveTimeout),
  replayed: replica.replayed,
  handOff,
};
const balance = createBalance(data.loads, data.index);
const connections = new Set<Socket>();

/** Serves a connection in JavaScript (raw-front.ts), `unread` first. */
function serveJs(socket: Socket, unread?: Buffer): void {
  connections.add(socket);
  socket.once('close', () => {
    connections.delete(socket);
    balance.closed();
  });
  serveRaw(socket, deps, unread);
}

/** The replay loop in C (native-front.ts), where the addon has it; else undefined and serveJs serves. */
const nativeFront = startNativeFront({
  ...deps,
  generation: data.generation,
  loads: data.loads,
  index: data.index,
  recording: data.logsRequests,
  toHttp(fd, unread) {
    post({ kind: 'handoff', fd, unread });
    balance.closed();
  },
  serveInJs: (fd, unread) => serveJs(new Socket({ fd, readable: true, writable: true }), unread),
});

function serve(socket: Socket): void {
  if (nativeFront === undefined) return serveJs(socket);
  const fd = detachSocket(socket, addon);
  if (fd === undefined) balance.closed();
  else nativeFront.serve(fd);
}

/** Passes a connection just accepted (nothing read from it yet) to thread `to`, which `place` counted it to. */
function give(socket: Socket, to: number): void {
  const fd = detachSocket(socket, addon);
  if (fd !== undefined) post({ kind: 'give', fd, to });
  else balance.closed(to);
}

const server = createServer((socket) => {
  const to = balance.place();
  if (to === data.index) serve(socket);
  else give(socket, to);
});
server.listen({ fd: data.listenFd }, () => {
  balance.serving();
  post({ kind: 'ready' });
});

const timer = setInterval(credit, CREDIT_MS);
port.on('message', (message: ToFront) => {
  if (message.kind === 'keep') return keep(message);
  if (message.kind === 'adopt') {
    if (nativeFront !== undefined) return nativeFront.serve(message.fd);
    return serveJs(new Socket({ fd: message.fd, readable: true, writable: true }));
  }
  // stop: accept no more, close every connection (between requests all are idle: replays are synchronous), report, end.
  clearInterval(timer);
  server.close();
  nativeFront?.stop();
  for (const socket of connections) socket.destroy();
  credit();
  port.close();
});
