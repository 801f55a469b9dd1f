/**
 * Hostile input over raw sockets (nothing normalises a path on the way): at least 10^4
 * generated request lines, queries and headers (REGCACHE_FUZZ_N for more; 50 000 in the long
 * suite). Every one gets a response below 500, the server stays up, no response carries the
 * content of a file outside the data directory, and a trap server — named by `ns=`, by path
 * prefix, by Host and by absolute-form targets — is never contacted: regcache is not an open proxy.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzRequest, prng, rawExchange, reportFigures, scaled, startRegistry, tempDir, type FuzzTargets, type RunningRegistry } from '@regcache/testkit';
import { startCache, type RunningCache } from '../helpers.js';

const COUNT = scaled('FUZZ_N', 10_000, 50_000);
const CONCURRENCY = 16;
const SEED = Number(process.env.REGCACHE_FUZZ_SEED ?? 20261126);

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
    let handled = 0;
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (sent < COUNT) {
        sent++;
        const req = fuzzRequest(rand, targets);
        const { status, body } = await rawExchange(port, req);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (body.includes(canary)) leaked++;
        // regcache's own answers carry the API version header; node's parser refusals do not.
        if (/\r\ndocker-distribution-api-version:/i.test(body)) handled++;
        if (status === 0) unanswered++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const fiveHundreds = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    reportFigures('http-fuzz', { requests: sent, seed: SEED, statuses: JSON.stringify(Object.fromEntries(statuses)), reachedRegcache: handled, fiveHundreds, trapConnections, canaryLeaks: leaked, unanswered });
    expect(sent).toBeGreaterThanOrEqual(COUNT);
    expect(fiveHundreds).toBe(0);
    expect(leaked).toBe(0);
    expect(unanswered).toBe(0);
    expect(trapConnections).toBe(0);
    // Most inputs get past node's HTTP parser to regcache's own parsing (else the fuzzing is node's).
    expect(handled).toBeGreaterThan(COUNT / 2);
    expect(cache.logs.filter((l) => l.msg === 'unexpected error')).toEqual([]);
    const alive = await fetch(`${cache.url}/v2/`);
    expect(alive.status).toBe(200);
  }, 180_000);
});
