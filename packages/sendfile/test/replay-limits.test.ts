/**
 * The replay loop's limits (src/replay.c), on real sockets: the headers and keep-alive timeouts
 * close quiet connections (a head gets headersTimeout from its own first byte), a client that
 * reads late still gets every byte in order while others are served, learn and adopt refuse
 * what they cannot keep, and stop() closes every connection, counts each out of `loads` and
 * leaves its last counts to take.
 */
import { randomBytes } from 'node:crypto';
import { closeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INDEX, EPOCH, sleep, head, answer, expectDate, useReplayLoops } from './replay-harness.js';

describe('replay loop', () => {
  const { loop, own, countsOf, cleanups, accept } = useReplayLoops();

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
