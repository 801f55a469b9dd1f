/**
 * The cost of a cold blob apart from its bytes: the small blobs of `bench/fills` (64 KiB of
 * random bytes each), fetched one after another on one keep-alive connection — first cold (a
 * cache fills each from the upstream), then again warm. Measured: the target's CPU time (user +
 * system of its processes, from /proc/<pid>/stat, every thread including those that ended), the
 * wall time, and the upstream's GETs of those blobs. Every body is checked against its digest.
 *
 * A fill's fixed cost — the upstream request, a temp file, its verification and commit, the index
 * entry — is paid once per blob whatever its size; an image of many small layers, or many images
 * pulled at once, pays it many times. For `direct` both passes measure the registry serving them.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import type { RunningRegistry } from '@regcache/testkit';
import type { BenchBlob } from '../content.js';
import type { Target } from '../targets/index.js';
import { BENCH_USER_AGENT } from './http-get.js';
import { statFields } from './rss.js';

export interface FillCostResult {
  blobs: number;
  /** Target CPU per blob, ms: fetched cold, then warm. */
  coldCpuMs: number;
  warmCpuMs: number;
  /** Wall time per blob, ms, seen by the one client. */
  coldWallMs: number;
  warmWallMs: number;
  /** The upstream's GETs of these blobs during both passes. */
  upstreamFetches: number;
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const TICKS_PER_S = 100;

/** utime + stime of a process, in ticks; 0 when it is gone. */
async function cpuTicks(pid: number): Promise<number> {
  try {
    const fields = statFields(await readFile(`/proc/${pid}/stat`, 'utf8'));
    // utime and stime: fields 14 and 15 of proc(5).
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

async function targetCpuMs(target: Target): Promise<number> {
  const ticks = await Promise.all((await target.pids()).map(cpuTicks));
  return (ticks.reduce((sum, t) => sum + t, 0) * 1000) / TICKS_PER_S;
}

/** GET one blob on the agent's connection; rejects unless it is 200 with exactly the blob's bytes. */
function getBlob(agent: Agent, url: string, blob: BenchBlob): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { 'user-agent': BENCH_USER_AGENT } }, (res) => {
      const hash = createHash('sha256');
      res.on('data', (chunk: Buffer) => hash.update(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const digest = `sha256:${hash.digest('hex')}`;
        if (res.statusCode !== 200 || digest !== blob.digest) reject(new Error(`GET ${url}: ${res.statusCode ?? 0}, body ${digest}`));
        else resolve();
      });
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function pass(target: Target, agent: Agent, blobs: readonly BenchBlob[]): Promise<{ cpuMs: number; wallMs: number }> {
  const cpu0 = await targetCpuMs(target);
  const start = performance.now();
  for (const blob of blobs) await getBlob(agent, `${target.url}${blob.path}`, blob);
  const wallMs = performance.now() - start;
  // Work a server finishes after its answer (a commit, an index entry) belongs to the blob too.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { cpuMs: (await targetCpuMs(target)) - cpu0, wallMs };
}

export async function fillCost(upstream: RunningRegistry, target: Target, blobs: readonly BenchBlob[]): Promise<FillCostResult> {
  if (blobs.length === 0) throw new Error('no small blobs to fetch');
  await upstream.settle();
  upstream.resetRequests();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const cold = await pass(target, agent, blobs);
    const warm = await pass(target, agent, blobs);
    await upstream.settle();
    const paths = new Set(blobs.map((b) => b.path));
    const upstreamFetches = upstream.requests().filter((r) => r.method === 'GET' && paths.has(r.path)).length;
    const n = blobs.length;
    return { blobs: n, coldCpuMs: cold.cpuMs / n, warmCpuMs: warm.cpuMs / n, coldWallMs: cold.wallMs / n, warmWallMs: warm.wallMs / n, upstreamFetches };
  } finally {
    agent.destroy();
  }
}
