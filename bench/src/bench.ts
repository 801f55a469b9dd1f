/**
 * The measuring run: a real upstream with generated content, then for every round each target
 * in turn (the order rotates between rounds so none is always first) gets a fresh, empty
 * instance and every row; finally medians, ratios, the report and the JSON.
 */
import { startRegistry } from '@regcache/testkit';
import { runBlock, type BlockResult } from './block.js';
import { seedUpstream } from './content.js';
import { log } from './log.js';
import type { BenchOptions, TargetId } from './options.js';
import type { Tools } from './prerequisites.js';
import { describeEnvironment } from './report/environment.js';
import { writeResults } from './report/files.js';
import { summarise } from './report/summary.js';
import { renderReport } from './report/table.js';

function rotate(ids: TargetId[], by: number): TargetId[] {
  const n = by % ids.length;
  return [...ids.slice(n), ...ids.slice(0, n)];
}

/** Runs every round; resolves true when no row failed. */
export async function runBench(options: BenchOptions, tools: Tools): Promise<boolean> {
  const environment = await describeEnvironment(tools);
  log(`upstream: docker-registry; generating and pushing ${options.blobMiB} MiB + 256 MiB of images`);
  const upstream = await startRegistry({ deleteEnabled: false });
  try {
    const content = await seedUpstream(upstream, options.blobMiB);
    // A restart drops what seeding cost the upstream from its peak RSS (direct's row 5).
    await upstream.stop();
    await upstream.start();
    const blocks: BlockResult[] = [];
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const id of rotate(options.targets, round - 1)) {
        blocks.push(await runBlock({ upstream, tools, content, options }, id, round));
      }
    }
    const summary = summarise(blocks, options);
    const markdown = renderReport(summary, blocks, environment, options);
    process.stdout.write(`\n${markdown}`);
    const paths = await writeResults(options.outDir, { schema: 1, options, environment, finishedAt: new Date().toISOString(), content, summary, blocks }, markdown);
    log(`wrote ${paths.json} and ${paths.md}`);
    return blocks.every((b) => Object.keys(b.errors).length === 0);
  } finally {
    await upstream.stop();
  }
}
