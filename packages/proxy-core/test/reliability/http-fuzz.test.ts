/**
 * Hostile input over raw sockets (nothing normalises a path on the way): at least 10^4
 * generated request lines, queries and headers (REGCACHE_FUZZ_N for more). Every one gets a
 * response below 500, the server stays up, no response carries the content of a file outside
 * the data directory, and a trap server — named by `ns=`, by path prefix, by Host and by
 * absolute-form targets — is never contacted: regcache is not an open proxy.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, tempDir, type RunningRegistry } from '@regcache/testkit';
import { startCache, type RunningCache } from '../helpers.js';
import { fuzzRequest, prng, type FuzzTargets } from './http-fuzz.js';

const COUNT = Number(process.env.REGCACHE_FUZZ_N ?? 10_000);
const CONCURRENCY = 16;
const SEED = Number(process.env.REGCACHE_FUZZ_SEED ?? 20261126);

function exchange(port: number, request: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      resolve({ status: status === undefined ? 0 : Number(status), body: text });
    });
    // write, not end: a client that half-closes first gets its connection closed by node:http
    // before an answer that needed the upstream is ready (real clients do not half-close).
    socket.write(request);
  });
}

describe(`HTTP surface fuzzer (${COUNT} requests, seed ${SEED})`, () => {
  let upstream: RunningRegistry;
  let cache: RunningCache;
  let trap: Server;
  let trapConnections = 0;
  const targets = {} as FuzzTargets;
  const canary = `canary-${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    upstream = await startRegistry();
    cache = await startCache({ upstreamUrl: upstream.url });
    trap = createServer((socket) => {
      trapConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    const address = trap.address();
    targets.trap = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    targets.canaryPath = join(await tempDir('regcache-canary-'), 'secret.txt');
    await writeFile(targets.canaryPath, canary);
  }, 60_000);
  afterAll(async () => {
    await cache?.close();
    await upstream?.stop();
    await new Promise((resolve) => trap?.close(resolve));
  });

  it('answers every request below 500, stays up, serves nothing outside its data dir, contacts no other host', async () => {
    const rand = prng(SEED);
    const port = Number(cache.host.split(':')[1]);
    const statuses = new Map<number, number>();
    let leaked = 0;
    let unanswered = 0;
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (sent < COUNT) {
        sent++;
        const req = fuzzRequest(rand, targets);
        const { status, body } = await exchange(port, req);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (body.includes(canary)) leaked++;
        if (status === 0) unanswered++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const fiveHundreds = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    console.log(`http-fuzz: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, 5xx ${fiveHundreds}, trap connections ${trapConnections}, canary leaks ${leaked}, unanswered ${unanswered}`);
    expect(sent).toBeGreaterThanOrEqual(COUNT);
    expect(fiveHundreds).toBe(0);
    expect(leaked).toBe(0);
    expect(unanswered).toBe(0);
    expect(trapConnections).toBe(0);
    expect(cache.logs.filter((l) => l.msg === 'unexpected error')).toEqual([]);
    const alive = await fetch(`${cache.url}/v2/`);
    expect(alive.status).toBe(200);
  }, 180_000);
});
