/**
 * One target's block of one round: start it (empty cache), run rows 1–4 and 6 in order, read
 * its peak RSS after the cold fill and after row 6 (row 5), measure the fill cost, stop it. A failing row is recorded
 * with its error and the block goes on, so one broken row does not hide the others.
 */
import type { RunningRegistry } from '@regcache/testkit';
import type { BenchContent } from './content.js';
import { log } from './log.js';
import { coldFill, type ColdFillResult } from './measure/cold-fill.js';
import { fillCost, type FillCostResult } from './measure/fill-cost.js';
import type { LoadResult } from './measure/load-tools.js';
import { headByTag, manifestGetByDigest, type HeadTagResult } from './measure/manifest-loads.js';
import { peakRssMiB, resetPeak } from './measure/rss.js';
import { skopeoColdPull, type SkopeoPullResult } from './measure/skopeo-pull.js';
import { warmBlob, type WarmBlobResult } from './measure/warm-blob.js';
import type { BenchOptions, TargetId } from './options.js';
import type { Tools } from './prerequisites.js';
import { TARGET_FACTORIES, type Target } from './targets/index.js';

export type LoadSummary = Omit<LoadResult, 'raw'>;

export interface BlockResult {
  target: TargetId;
  round: number;
  coldFill?: ColdFillResult;
  /** Peak RSS (MiB) right after the cold fill: the fill's peak for a freshly started cache. */
  fillPeakRssMiB?: number;
  warmBlob?: WarmBlobResult;
  manifestGet?: LoadSummary;
  headTag?: Omit<HeadTagResult, 'raw'>;
  skopeo?: SkopeoPullResult;
  /** Peak RSS (MiB) over the whole block (before the fill-cost row). */
  peakRssMiB?: number;
  fillCost?: FillCostResult;
  /** false when the upstream's peak could not be reset (direct's RSS then includes seeding). */
  peakReset?: boolean;
  /** Row name → error message, for the rows that failed. */
  errors: Record<string, string>;
}

export interface BlockContext {
  upstream: RunningRegistry;
  tools: Tools;
  content: BenchContent;
  options: BenchOptions;
}

function withoutRaw<T extends LoadResult>(result: T): Omit<T, 'raw'> {
  const { raw: _raw, ...rest } = result;
  return rest;
}

async function step<T>(result: BlockResult, name: string, run: () => Promise<T>): Promise<T | undefined> {
  log(`round ${result.round} · ${result.target} · ${name}`);
  try {
    return await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    result.errors[name] = message;
    log(`round ${result.round} · ${result.target} · ${name} FAILED: ${message.split('\n').slice(0, 6).join('\n')}`);
    return undefined;
  }
}

async function runRows(ctx: BlockContext, target: Target, result: BlockResult): Promise<void> {
  const { upstream, tools, content, options } = ctx;
  const load = { connections: options.connections, durationS: options.durationS };
  result.coldFill = await step(result, `cold fill: ${options.coldClients} × ${options.blobMiB} MiB`, () => coldFill(upstream, target, content.big, options.coldClients));
  result.fillPeakRssMiB = await peakRssMiB(await target.pids());
  result.warmBlob = await step(result, 'warm blob, one client', () => warmBlob(upstream, target, content.big));
  const manifestGet = await step(result, 'manifest GET by digest (wrk)', () => manifestGetByDigest(tools, target, content.small, load));
  result.manifestGet = manifestGet === undefined ? undefined : withoutRaw(manifestGet);
  const headTag = await step(result, 'HEAD manifest by tag (ab)', () => headByTag(tools, upstream, target, content.small, load));
  result.headTag = headTag === undefined ? undefined : withoutRaw(headTag);
  result.skopeo = await step(result, 'cold skopeo pull, 20 layers', () => skopeoColdPull(upstream, target, content.image));
  result.peakRssMiB = await peakRssMiB(await target.pids());
  // Last: its 200 fills would otherwise warm the code of the cold rows above.
  result.fillCost = await step(result, `fill cost: ${content.fills.length} small blobs, cold then warm`, () => fillCost(upstream, target, content.fills));
}

/** Starts the target fresh, measures every row, stops it. */
export async function runBlock(ctx: BlockContext, id: TargetId, round: number): Promise<BlockResult> {
  const result: BlockResult = { target: id, round, errors: {} };
  const target = await step(result, 'start', () => TARGET_FACTORIES[id]({ upstream: ctx.upstream, tools: ctx.tools, serverMain: ctx.options.serverMain }));
  if (target === undefined) return result;
  try {
    result.peakReset = await resetPeak(await target.pids());
    await runRows(ctx, target, result);
  } finally {
    await target.stop();
  }
  return result;
}
