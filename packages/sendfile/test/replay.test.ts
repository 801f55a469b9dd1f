/**
 * The replay loop (src/replay.c) against real sockets on 127.0.0.1: a taught head is answered
 * byte for byte, its Date set to the current second, repeated, pipelined and split heads in
 * order, counted per id (with a record per request only when recording); the first head it
 * cannot answer (unknown, of another generation, expired) comes back to JavaScript with a
 * usable descriptor and exactly the bytes from that head on, after the answers before it, and
 * a connection given back with them is answered; a Connection-close answer ends the connection
 * and counts it out of `loads`. Its limits: replay-limits.test.ts.
 */
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { INDEX, sleep, head, answer, undate, aroundNow, useReplayLoops } from './replay-harness.js';

describe('replay loop', () => {
  const { loop, own, countsOf, expectAnswers, cleanups } = useReplayLoops();

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
});
