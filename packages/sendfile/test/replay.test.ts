/**
 * The replay loop (src/replay.c) against real sockets on 127.0.0.1: a taught head is answered
 * byte for byte, its Date set to the current second, repeated, pipelined and split heads in
 * order, counted per id (with a record per request only when recording); the first head it
 * cannot answer (unknown, of another generation, expired, too long) comes back to JavaScript
 * with a usable descriptor and exactly the bytes from that head on, after the answers before
 * it, and a connection given back with them is answered; a Connection-close answer, the headers
 * and keep-alive timeouts and stop() close connections and count them out of `loads`; a client
 * that reads late still gets every byte; learn and adopt refuse what they cannot keep.
 */
import { randomBytes } from 'node:crypto';
import { closeSync } from 'node:fs';
import { connect, createServer, Socket, type AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadReplay, loadSendfile, socketFd, type ReplayLesson, type ReplayLoopOptions, type Sendfile, type StartReplayLoop } from '../src/index.js';

const INDEX = 1;
const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const head = (line: string, extra = ''): Buffer => Buffer.from(`${line} HTTP/1.1\r\nHost: registry.test\r\n${extra}\r\n`, 'latin1');
/** An answer; with `dated`, a Date header the loop rewrites (EPOCH until then). */
const answer = (body: Buffer | string, { dated = true, extra = '' } = {}): Buffer =>
  Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\n${dated ? `Date: ${EPOCH}\r\n` : ''}Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n`, 'latin1'), Buffer.from(body)]);
/** The bytes with every Date value set back to EPOCH, and the values found. */
function undate(bytes: Buffer): { bytes: Buffer; dates: string[] } {
  const dates: string[] = [];
  const text = bytes.toString('latin1').replace(/\r\nDate: (.{29})\r\n/g, (_, date: string) => {
    dates.push(date);
    return `\r\nDate: ${EPOCH}\r\n`;
  });
  return { bytes: Buffer.from(text, 'latin1'), dates };
}
/** The current second, give or take one, as toUTCString writes it. */
const aroundNow = (): string[] => [-1000, 0, 1000].map((d) => new Date(Date.now() + d).toUTCString());
/** A Date value written as toUTCString writes it, for a second between `since` (Date.now()) and now. */
function expectDate(date: string | undefined, since: number): void {
  const at = Date.parse(date ?? '');
  expect(new Date(at).toUTCString()).toBe(date);
  expect(at > since - 1000 && at <= Date.now(), `${date} is between ${new Date(since).toUTCString()} and now`).toBe(true);
}

/** A client's view: what it received, when (performance.now(); 0: not yet), whether it closed; `since`: Date.now() at its start. */
interface Client { socket: Socket; length: number; bytes(): Buffer; dataAt: number; endedAt: number; closed: boolean; adoptedAt: number; since: number }
/** What onMiss got; fd -1 once the test took the descriptor. */
interface Miss { fd: number; unread: Buffer; learned: number }

describe('replay loop', () => {
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

  it('answers taught heads byte for byte with the current Date, repeated, pipelined and split, and counts them per id', async () => {
    const l = loop({ recording: true });
    const [hHead, hGet] = [head('HEAD /v2/library/alpine/manifests/3.20', 'Accept: */*\r\n'), head('GET /v2/library/alpine/blobs/sha256:ab')];
    const [aHead, aGet] = [answer(''), answer('hello world', { dated: false })];
    l.teach(hHead, aHead);
    l.teach(hGet, aGet, { bodyBytes: 11 });
    const c = await l.adopt();
    c.socket.write(hHead);
    await expect.poll(() => c.length).toBe(aHead.length);
    expect(aroundNow(), 'the Date value is this second').toContain(undate(c.bytes()).dates[0]);
    expectAnswers(c, aHead);

    c.socket.write(Buffer.concat([hHead, hGet, hHead]));
    await expect.poll(() => c.length).toBe(3 * aHead.length + aGet.length);
    c.socket.write(hGet.subarray(0, 20));
    await sleep(50);
    expect(c.length, 'half a head is not answered').toBe(3 * aHead.length + aGet.length);
    c.socket.write(hGet.subarray(20));
    await expect.poll(() => c.length).toBe(3 * aHead.length + 2 * aGet.length);
    expectAnswers(c, aHead, aHead, aGet, aHead, aGet);

    const taken = l.replay.take();
    expect(countsOf(taken?.counts)).toEqual(new Map([[1, [3, 0]], [2, [2, 22]]]));
    expect(taken?.retired).toEqual(new Int32Array(0));
    const records = Array.from(taken?.records ?? []);
    expect(records.filter((_, i) => i % 2 === 0)).toEqual([1, 1, 2, 1, 2]);
    for (const ms of records.filter((_, i) => i % 2 === 1)) expect(ms >= 0 && ms < 1000, `a duration of ${ms} ms`).toBe(true);
    expect(l.replay.take(), 'nothing new since the last take').toBeUndefined();

    const quiet = loop({ recording: false });
    quiet.teach(hHead, aHead);
    const q = await quiet.adopt(hHead); // bytes read with the connection are answered as if just read
    await expect.poll(() => q.length).toBe(aHead.length);
    const untaken = quiet.replay.take();
    expect(countsOf(untaken?.counts)).toEqual(new Map([[1, [1, 0]]]));
    expect(untaken?.records).toEqual(new Float64Array(0));
  });

  it('gives an unknown head back after the answers before it: a usable descriptor, exactly the bytes from that head on', async () => {
    const l = loop();
    const [hA, hB, hUnknown] = [head('HEAD /v2/a/manifests/1'), head('GET /v2/b/manifests/2'), head('GET /v2/unknown/manifests/3')];
    const [aA, aB] = [answer(''), answer('{"b":2}')];
    l.teach(hA, aA);
    l.teach(hB, aB, { bodyBytes: 7 });
    const c = await l.adopt(undefined, 3);
    c.socket.write(Buffer.concat([hA, hB, hUnknown, hA]));
    await expect.poll(() => l.misses.length).toBe(1);
    const miss = l.misses[0];
    expect(miss?.unread.toString('latin1')).toBe(Buffer.concat([hUnknown, hA]).toString('latin1'));
    expect(miss?.learned).toBe(3);
    expect(Atomics.load(l.loads, INDEX), 'a connection handed back is still counted to the thread').toBe(1);
    const reply = Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 'latin1');
    const js = new Socket({ fd: own(miss), readable: true, writable: true });
    cleanups.push(() => js.destroy());
    js.end(reply);
    await expect.poll(() => c.endedAt).toBeGreaterThan(0);
    expectAnswers(c, aA, aB, reply);
  });

  it('misses an answer of an older generation (retiring it) or past its expiry; a connection given back with its head is answered', async () => {
    const l = loop();
    const [hA, hOld, hSoon] = [head('HEAD /v2/a/manifests/latest'), head('HEAD /v2/old/manifests/1'), head('HEAD /v2/soon/manifests/1')];
    l.teach(hA, answer('')); // id 1
    const c = await l.adopt();
    c.socket.write(hA);
    await expect.poll(() => c.length).toBe(answer('').length);
    Atomics.add(l.generation, 0, 1);
    c.socket.write(hA);
    await expect.poll(() => l.misses.length).toBe(1);
    expect(l.misses[0]?.unread).toEqual(hA);
    const taken = l.replay.take();
    expect(countsOf(taken?.counts)).toEqual(new Map([[1, [1, 0]]]));
    expect(Array.from(taken?.retired ?? [])).toEqual([1]);
    // JavaScript teaches it again under the new generation and gives the connection back with the head.
    const fresh = answer('', { extra: 'X-Generation: 1\r\n' });
    l.teach(hA, fresh); // id 2
    const miss = l.misses[0];
    expect(l.replay.adopt(own(miss), miss?.unread, (miss?.learned ?? 0) + 1)).toBe(true);
    await expect.poll(() => c.length).toBe(answer('').length + fresh.length);
    expectAnswers(c, answer(''), fresh);

    l.teach(hOld, answer(''), { expiresAt: Date.now() - 1000 }); // id 3
    const soon = Date.now() + 600;
    l.teach(hSoon, answer(''), { expiresAt: soon }); // id 4
    const d = await l.adopt();
    d.socket.write(hSoon);
    await expect.poll(() => d.length).toBe(answer('').length);
    d.socket.write(hOld);
    await expect.poll(() => l.misses.length).toBe(2);
    expect(l.misses[1]?.unread).toEqual(hOld);
    const e = await l.adopt();
    await sleep(Math.max(0, soon + 50 - Date.now()));
    e.socket.write(hSoon);
    await expect.poll(() => l.misses.length).toBe(3);
    expect(l.misses[2]?.unread).toEqual(hSoon);
    expect(e.length).toBe(0);
    expect(Array.from(l.replay.take()?.retired ?? []).sort()).toEqual([3, 4]);
  });

  it('ends the connection after a Connection: close answer, ignoring what was pipelined after it, and counts it out', async () => {
    const l = loop();
    const [hClose, hOther] = [head('GET /v2/a/manifests/1', 'Connection: close\r\n'), head('HEAD /v2/a/manifests/1')];
    const aClose = answer('{}', { extra: 'Connection: close\r\n' });
    l.teach(hClose, aClose, { close: true, bodyBytes: 2 });
    l.teach(hOther, answer(''));
    const c = await l.adopt();
    expect(Atomics.load(l.loads, INDEX)).toBe(1);
    c.socket.write(Buffer.concat([hClose, hOther]));
    await expect.poll(() => c.endedAt).toBeGreaterThan(0);
    expectAnswers(c, aClose);
    await expect.poll(() => Atomics.load(l.loads, INDEX)).toBe(0);
    expect(l.misses).toEqual([]);
  });

  it('closes a connection quiet for headersTimeout before any answer (or trickling one head), and for keepAliveTimeout after one', async () => {
    const l = loop({ headersTimeout: 300, keepAliveTimeout: 700 });
    const [h, a] = [head('HEAD /v2/a/manifests/1'), answer('')];
    l.teach(h, a);
    const idle = await l.adopt();
    const slow = await l.adopt();
    const [trickle, sent] = [head('GET /v2/slow/manifests/1'), { bytes: 0 }];
    const drip = setInterval(() => slow.endedAt === 0 && slow.socket.write(trickle.subarray(sent.bytes, ++sent.bytes)), 50); // a byte every 50 ms
    cleanups.push(() => clearInterval(drip));
    const kept = await l.adopt();
    const wroteAt = performance.now(); // its deadline: at least 700 ms from here
    kept.socket.write(h);
    await sleep(Math.max(0, idle.adoptedAt + 200 - performance.now()));
    expect([idle.endedAt, slow.endedAt], 'open before headersTimeout').toEqual([0, 0]);
    await expect.poll(() => idle.endedAt > 0 && slow.endedAt > 0, { timeout: 3000 }).toBe(true);
    for (const c of [idle, slow]) {
      expect(c.endedAt - c.adoptedAt).toBeGreaterThanOrEqual(290);
      expect(c.endedAt - c.adoptedAt, 'the 100 ms scan, and slack for a busy machine').toBeLessThan(300 + 100 + 1000);
    }
    expect(kept.length).toBe(a.length);
    await sleep(Math.max(0, wroteAt + 500 - performance.now()));
    expect(kept.endedAt, 'open past headersTimeout after an answer').toBe(0);
    await expect.poll(() => kept.endedAt, { timeout: 3000 }).toBeGreaterThan(0);
    expect(kept.endedAt - wroteAt).toBeGreaterThanOrEqual(690);
    expect(kept.endedAt - kept.dataAt).toBeLessThan(700 + 100 + 1000);
    await expect.poll(() => Atomics.load(l.loads, INDEX)).toBe(0);
    expect(Atomics.load(l.loads, 0), 'only its own cell').toBe(0);
  });

  it('gives each head headersTimeout from its own first byte: a client whose every write ends one head and starts the next stays open', async () => {
    const l = loop({ headersTimeout: 300, keepAliveTimeout: 5000 });
    const [h, a] = [head('HEAD /v2/a/manifests/1'), answer('')];
    l.teach(h, a);
    const c = await l.adopt();
    c.socket.write(h.subarray(0, 10));
    // Every 100 ms: the rest of head n and the first bytes of head n+1, for well past headersTimeout.
    for (let i = 0; i < 10; i++) {
      await sleep(100);
      c.socket.write(Buffer.concat([h.subarray(10), h.subarray(0, 10)]));
    }
    await expect.poll(() => c.length).toBe(10 * a.length);
    expect(c.endedAt).toBe(0);
  });

  it('delivers every byte, in order, to a client that pipelines many large answers and reads late; serves others meanwhile; misses after', async () => {
    const l = loop({ headersTimeout: 5000, keepAliveTimeout: 5000 });
    const body = randomBytes(256 * 1024);
    const [h, a] = [head('GET /v2/big/blobs/sha256:0'), answer(body)];
    l.teach(h, a, { bodyBytes: body.length });
    const c = await l.adopt();
    c.socket.pause();
    const unknown = head('GET /v2/unknown/manifests/1');
    c.socket.write(Buffer.concat([...Array.from({ length: 64 }, () => h), unknown]));
    const [hSmall, aSmall] = [head('HEAD /v2/small/manifests/1'), answer('')];
    l.teach(hSmall, aSmall);
    const other = await l.adopt();
    other.socket.write(hSmall);
    await expect.poll(() => other.length, { message: 'a slow reader does not hold the loop up' }).toBe(aSmall.length);
    await sleep(300);
    expect(c.length).toBeLessThan(64 * a.length);
    expect(l.misses, 'the unknown head waits until every answer before it has left').toEqual([]);
    c.socket.resume();
    await expect.poll(() => c.length, { timeout: 10_000 }).toBe(64 * a.length);
    await expect.poll(() => l.misses.length).toBe(1);
    expect(l.misses[0]?.unread).toEqual(unknown);
    const got = c.bytes();
    const dateAt = a.indexOf(EPOCH);
    for (let i = 0; i < 64; i++) {
      const one = got.subarray(i * a.length, (i + 1) * a.length);
      expect(one.subarray(0, dateAt).equals(a.subarray(0, dateAt)), `answer ${i}: head`).toBe(true);
      expectDate(one.toString('latin1', dateAt, dateAt + 29), c.since);
      // Buffer#equals: vitest's deep equality walks 256 KiB byte by byte.
      expect(one.subarray(dateAt + 29).equals(a.subarray(dateAt + 29)), `answer ${i}: the rest`).toBe(true);
    }
    expect(countsOf(l.replay.take()?.counts).get(1)).toEqual([64, 64 * body.length]);
  });

  it('learn refuses a head without its empty line or over 4100 bytes, and the loop misses a longer one; both refuse after stop', async () => {
    const l = loop();
    const at = (length: number): Buffer => head(`GET /${'a'.repeat(length - head('GET /').length)}`);
    const lesson = { response: answer(''), id: 9, bodyBytes: 0, close: false, generation: 0, expiresAt: Infinity };
    expect(at(4100).length).toBe(4100);
    expect(l.replay.learn({ ...lesson, head: head('HEAD /v2/a/manifests/1').subarray(0, -2) })).toBe(false);
    expect(l.replay.learn({ ...lesson, head: at(4101) })).toBe(false);
    expect(l.replay.learn({ ...lesson, head: at(4100) })).toBe(true);
    const c = await l.adopt();
    c.socket.write(at(4100));
    await expect.poll(() => c.length).toBe(lesson.response.length);
    c.socket.write(at(4101));
    await expect.poll(() => l.misses.length).toBe(1);
    expect(l.misses[0]?.unread.equals(at(4101))).toBe(true);

    const { fd } = await accept();
    l.replay.stop();
    expect(l.replay.learn({ ...lesson, head: head('HEAD /v2/b/manifests/1') })).toBe(false);
    expect(l.replay.adopt(fd, undefined, 0)).toBe(false);
    expect(() => closeSync(fd), 'the descriptor is still the caller’s').not.toThrow();
  });

  it('stop() closes every connection it holds and counts each out; its last replays are still taken after it', async () => {
    const l = loop();
    const [h, a] = [head('HEAD /v2/a/manifests/1'), answer('')];
    l.teach(h, a);
    const answered = await l.adopt();
    const idle = await l.adopt();
    answered.socket.write(h);
    await expect.poll(() => answered.length).toBe(a.length);
    expect(Atomics.load(l.loads, INDEX)).toBe(2);
    expect([answered.closed, idle.closed]).toEqual([false, false]);
    l.replay.stop();
    expect(Atomics.load(l.loads, INDEX)).toBe(0);
    await expect.poll(() => [answered.closed, idle.closed]).toEqual([true, true]);
    expect([answered.endedAt > 0, idle.endedAt > 0], 'closed by the peer, not errored').toEqual([true, true]);
    expect(Array.from(l.replay.take()?.counts ?? [])).toEqual([1, 1, 0]);
  });
});
