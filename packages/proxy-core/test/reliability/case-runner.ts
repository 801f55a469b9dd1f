/**
 * One round of one fault case: a fresh subject, the fault on, the pulls (two at once, or a
 * sequence), the fault off — while other clients pull cached content — then the checks:
 * never a complete-looking wrong body, nothing wrong committed, the counters and logs say
 * what happened, and the next pull from a healthy upstream gets the right bytes.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { RunningRegistry } from '@regcache/testkit';
import type { Digest } from '@regcache/registry-protocol';
import { expectStored, type RunningCache } from '../helpers.js';
import type { TinyImage } from '../images.js';
import { parsePrometheusText, valueOf } from '../prom-text.js';
import { startControlTraffic } from './control-traffic.js';
import type { FaultCase, FaultEnv } from './fault-cases.js';
import { makeSubject, rightBody, wrongBody, type Pulled, type Subject } from './subjects.js';

export interface RoundContext {
  readonly env: FaultEnv;
  readonly upstream: RunningRegistry;
  readonly cache: RunningCache;
  readonly control: TinyImage;
  readonly upstreamName: string;
}

interface Observation {
  stats: Readonly<Record<string, number>>;
  metric: (name: string, labels?: Record<string, string>) => number;
  logs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function observe(cache: RunningCache): Promise<Observation> {
  const samples = parsePrometheusText(await cache.cache.metrics.render());
  return { stats: { ...cache.cache.stats.snapshot() }, metric: (name, labels) => valueOf(samples, name, labels), logs: cache.logs.length };
}

async function pullDuringFault(c: FaultCase, subject: Subject, base: string): Promise<Pulled[]> {
  if (c.sequence === undefined) return Promise.all([subject.pull(base), subject.pull(base)]);
  const pulls: Pulled[] = [];
  for (const pause of c.sequence) {
    await sleep(pause);
    pulls.push(await subject.pull(base));
  }
  return pulls;
}

async function storedDigests(cache: RunningCache): Promise<Set<string>> {
  const digests = new Set<string>();
  for await (const meta of cache.cache.store.blobs()) digests.add(meta.digest);
  return digests;
}

export async function runRound(ctx: RoundContext, c: FaultCase, blobSize: number): Promise<void> {
  const { env, cache } = ctx;
  const subject = await makeSubject(ctx.upstream, c.subject, c.name.replace(/[^a-z0-9]+/g, '-').slice(0, 40), blobSize);
  const storedBefore = await storedDigests(cache);
  const before = await observe(cache);
  env.proxy.setFault(c.fault(env, subject), { match: new RegExp(`^${escape(subject.path)}(\\?|$)`), methods: c.methods ?? ['GET'], times: c.times });
  const control = startControlTraffic(cache.url, ctx.control);
  let pulls: Pulled[];
  try {
    pulls = await pullDuringFault(c, subject, cache.url);
  } finally {
    env.proxy.setFault({ kind: 'none' });
  }
  const traffic = await control.stop();
  expect(traffic.failures, 'cached content kept being served').toEqual([]);
  expect(traffic.pulls).toBeGreaterThan(0);
  for (const pull of pulls) expect(wrongBody(subject, pull), 'a complete-looking wrong body').toBe(false);
  if (c.outcome === 'serves') for (const pull of pulls) expect(rightBody(subject, pull)).toBe(true);
  else await expectFailedCleanly(ctx, c, subject, pulls, storedBefore);
  c.check?.(env, subject, pulls);
  await expectCounted(ctx, c, subject, before, pulls);
  await sleep(c.recoverAfterMs ?? 0);
  const healthy = await subject.pull(cache.url);
  expect(rightBody(subject, healthy), `recovery pull: status ${healthy.status}`).toBe(true);
  await expectStored(cache, subject.digest);
}

async function expectFailedCleanly(ctx: RoundContext, c: FaultCase, subject: Subject, pulls: readonly Pulled[], storedBefore: ReadonlySet<string>): Promise<void> {
  for (const pull of pulls) {
    const failed = pull.status >= 400 || pull.broken || pull.bytes !== pull.contentLength;
    expect(failed, `pull during "${c.name}": status ${pull.status}, ${pull.bytes} bytes`).toBe(true);
    if (c.status !== undefined) expect(pull.status).toBe(c.status);
  }
  // Nothing committed: no new blob, no temp file left, no tag for a manifest that failed.
  await expect.poll(() => readdir(join(ctx.cache.dataDir, 'tmp')), { timeout: 5000 }).toEqual([]);
  expect(await ctx.cache.cache.store.stat(subject.digest as Digest)).toBeUndefined();
  expect([...(await storedDigests(ctx.cache))].filter((d) => !storedBefore.has(d))).toEqual([]);
  if (subject.tag !== undefined) expect(await ctx.cache.cache.store.getTag(ctx.upstreamName, subject.repo, subject.tag)).toBeUndefined();
}

async function expectCounted(ctx: RoundContext, c: FaultCase, subject: Subject, before: Observation, pulls: readonly Pulled[]): Promise<void> {
  const after = await observe(ctx.cache);
  const delta = (name: string): number => (after.stats[name] ?? 0) - (before.stats[name] ?? 0);
  const metricDelta = (name: string, labels: Record<string, string>): number => after.metric(name, labels) - before.metric(name, labels);
  const logs = ctx.cache.logs.slice(before.logs);
  if (c.upstreamErrorLabel !== undefined) {
    expect(metricDelta('regcache_upstream_errors_total', { upstream: ctx.upstreamName, status: c.upstreamErrorLabel })).toBeGreaterThanOrEqual(1);
  }
  if (c.fillFails === true) {
    expect(metricDelta('regcache_fill_duration_seconds_count', { result: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(delta('fillFailures')).toBeGreaterThanOrEqual(1);
    expect(logs.some((l) => l.msg === 'fill failed' && l.digest === subject.digest)).toBe(true);
  }
  if (c.outcome === 'fails' && c.status !== undefined) {
    const answered = logs.filter((l) => l.msg === 'request' && l.path === subject.path && l.status === c.status && l.cache === 'error');
    expect(answered.length).toBe(pulls.length);
    if (c.status === 503) expect(delta('upstreamErrors')).toBeGreaterThanOrEqual(1);
  }
}
