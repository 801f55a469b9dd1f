/**
 * One stalled blob fill, end to end, for the stall tests (fill-stall*.test.ts): a blob pushed to
 * the real registry, the fault proxy stalling its body halfway for one upstream request, two
 * clients following the one fill — then what every body path must show: both clients get
 * the 200's headers and a broken body within the stall limit (not fill.idleTimeout's 30 s or
 * timeouts.body's), the fill fails as the upstream's timeout (the log, `upstreamErrors`,
 * `regcache_upstream_errors_total{status="timeout"}`, `fillFailures`), nothing is committed
 * or left in tmp/, and the next pull, unstalled, stores the blob.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashedGet, pushBlob, TEST_CA_PEM, type FaultProxy, type RunningRegistry, type TlsFront } from '@regcache/testkit';
import type { Digest } from '@regcache/registry-protocol';
import { expectStored, startCache, type RunningCache } from './helpers.js';
import { fillThreads, looksComplete, randomBlob, type Received } from './fill-helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';

const MiB = 1024 * 1024;
/**
 * The tests' stall limit is 1 s. The fault proxy's stall does not last: its server closes the
 * connection ≈ 5 s after the cut (node:http's keep-alive timeout), and a fill that missed the
 * limit then fails as "upstream closed the connection" — not a timeout, and after this long.
 */
export const STALL_NOTICED_MS = 4000;

export interface StallScene {
  registry: RunningRegistry;
  proxy: FaultProxy;
  cache: RunningCache;
  /** Where the blob is pushed and pulled: each case its own repository. */
  repo: string;
  upstreamName?: string;
}

async function counts(scene: StallScene): Promise<{ errors: number; failures: number; timeouts: number }> {
  const stats = scene.cache.cache.stats.snapshot();
  const samples = parsePrometheusText(await scene.cache.cache.metrics.render());
  const timeouts = valueOf(samples, 'regcache_upstream_errors_total', { upstream: scene.upstreamName ?? 'docker.io', status: 'timeout' });
  return { errors: stats.upstreamErrors ?? 0, failures: stats.fillFailures ?? 0, timeouts };
}

/** Runs the stalled fill and checks it; resolves with how long the clients waited and whether a receive loop ran meanwhile. */
export async function expectStallFailsFill(scene: StallScene): Promise<{ waitedMs: number; native: boolean }> {
  const { proxy, cache, repo } = scene;
  const blob = randomBlob(4 * MiB);
  await pushBlob(scene.registry, repo, blob.bytes);
  const before = await counts(scene);
  const logsBefore = cache.logs.length;
  proxy.setFault({ kind: 'stall' }, { match: new RegExp(`^/v2/${repo}/blobs/`), times: 1 });
  let native = false;
  const watch = setInterval(() => void fillThreads().then((n) => (native ||= n > 0)), 20);
  const url = `${cache.url}/v2/${repo}/blobs/${blob.digest}`;
  // The clients' own timeout is past the stall limit and short of the 30 s one.
  const get = (): Promise<Received> => hashedGet(url, { timeoutMs: 10_000 });
  const started = Date.now();
  const pulls = await Promise.all([get(), get()]).finally(() => clearInterval(watch));
  const waitedMs = Date.now() - started;
  proxy.setFault({ kind: 'none' });
  for (const pull of pulls) {
    // Headers were sent (the fill had begun): the client is told by a broken body.
    expect(pull.status).toBe(200);
    expect(pull.broken || pull.bytes < blob.bytes.length).toBe(true);
    expect(looksComplete(pull)).toBe(false);
  }
  expect(waitedMs).toBeLessThan(STALL_NOTICED_MS);
  await expect.poll(() => readdir(join(cache.dataDir, 'tmp')), { timeout: 5000 }).toEqual([]);
  expect(await cache.cache.store.stat(blob.digest as Digest)).toBeUndefined();
  const failed = cache.logs.slice(logsBefore).find((l) => l.msg === 'fill failed' && l.digest === blob.digest);
  expect(String(failed?.err)).toContain(`upstream ${scene.upstreamName ?? 'docker.io'} unavailable (timeout)`);
  const after = await counts(scene);
  expect({ errors: after.errors - before.errors, failures: after.failures - before.failures, timeouts: after.timeouts - before.timeouts }).toEqual({ errors: 1, failures: 1, timeouts: 1 });
  const healthy = await hashedGet(url, { timeoutMs: 10_000 });
  expect(looksComplete(healthy) && healthy.digest).toBe(blob.digest);
  await expectStored(cache, blob.digest);
  return { waitedMs, native };
}

export interface StallCase {
  name: string;
  /** https: through the TLS front, so undici reads the body. */
  tls?: boolean;
  /** The upstream's timeouts.body and fill.idleTimeout. */
  body: string;
  idle: string;
  /** A receive loop must have run (the native path) or must not have. */
  native: boolean;
}

export interface StallUpstream {
  registry: RunningRegistry;
  proxy: FaultProxy;
  front?: TlsFront;
}

/** A cache per case, in front of the fault proxy (or the TLS front over it), and the stalled fill checked in each. */
export function describeStallCases(cases: readonly StallCase[], upstream: () => StallUpstream, repoPrefix: string): void {
  describe.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
    let cache: RunningCache;
    beforeAll(async () => {
      const { proxy, front } = upstream();
      const url = c.tls === true ? { url: front?.url ?? '', ca: TEST_CA_PEM } : { url: proxy.url };
      cache = await startCache({ upstreams: [{ name: 'docker.io', ...url, timeouts: { body: c.body } }], fill: { idleTimeout: c.idle, prefetch: 0 } });
    });
    afterAll(() => cache?.close());

    it('fails the fill as the upstream timeout within the smaller limit, tells both clients, commits nothing', async () => {
      const { native } = await expectStallFailsFill({ ...upstream(), cache, repo: `${repoPrefix}/case${i}` });
      expect(native).toBe(c.native);
    });
  });
}
