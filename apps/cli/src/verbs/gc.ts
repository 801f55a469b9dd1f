/**
 * `regcache-admin gc`: evict least recently used blobs until the store fits its budget, drop
 * what was not used for `--max-age`, clear unlinked blobs, orphaned temp files and index
 * entries without files. `--dry-run` lists what would go. Never touches a blob in use.
 */
import type { Command } from 'commander';
import { formatBytes, type GcItem, type GcResult } from '@regcache/proxy-core';
import { ageArg, sizeArg, verb } from '../command.js';
import { clip, formatTime, plural, printJson, shortDigest } from '../format.js';
import { withProgress } from '../progress.js';
import { renderTable } from '../table.js';
import { withTarget, type GlobalFlags } from '../target.js';

interface GcFlags extends GlobalFlags {
  maxSize?: number;
  maxAge?: number;
  dryRun?: boolean;
}

function itemRow(item: GcItem): string[] {
  const repos = item.repositories.length === 0 ? '-' : clip(item.repositories.join(', '), 60);
  return [shortDigest(item.digest), formatBytes(item.size), formatTime(item.lastAccess), item.reason, repos];
}

function budgetLine(r: GcResult): string {
  const sizes = `store ${formatBytes(r.sizeBefore)} -> ${formatBytes(r.sizeAfter)}`;
  if (r.maxSize === null) return `${sizes} (no size budget: --max-size or storage.maxSize)`;
  const fits = r.sizeAfter <= r.maxSize ? 'under budget' : 'still over budget';
  return `${sizes}, budget ${formatBytes(r.maxSize)}: ${fits}`;
}

export function formatGc(r: GcResult): string {
  const verbText = r.dryRun ? 'would remove' : 'removed';
  const lines: string[] = [];
  if (r.removed.length > 0) lines.push(renderTable(['blob', 'size', 'last used', 'reason', 'repositories'], r.removed.map(itemRow), [1]), '');
  lines.push(`gc${r.dryRun ? ' (dry run)' : ''}: ${verbText} ${plural(r.removed.length, 'blob')}, ${r.dryRun ? 'freeing' : 'freed'} ${formatBytes(r.freedBytes)}; ${budgetLine(r)}`);
  lines.push(
    `  ${verbText} ${plural(r.tagsRemoved, 'tag')} without a manifest; orphaned temp files: ${r.tempFiles}; index entries without files: ${r.danglingEntries}; files without entries: ${r.unindexedFiles}; kept because in use: ${r.skippedInUse}`,
  );
  return `${lines.join('\n')}\n`;
}

export function registerGc(program: Command): void {
  verb(program, 'gc', 'evict least recently used blobs to fit the size budget, and clear out what nothing uses')
    .option('--max-size <size>', 'the size budget, e.g. 50GiB (default: storage.maxSize from the config)', sizeArg)
    .option('--max-age <age>', 'also remove what was not used for this long, e.g. 30d', ageArg)
    .option('--dry-run', 'list what would go and how much it frees; change nothing')
    .action(async (flags: GcFlags) => {
      const opts = { maxSize: flags.maxSize, maxAge: flags.maxAge, dryRun: flags.dryRun === true };
      const result = await withProgress(flags.dryRun ? 'gc (dry run)' : 'gc: removing', (progress) => withTarget(flags, ({ ops }) => ops.gc(opts, (p) => progress.update(p))));
      if (flags.json) printJson(result);
      else process.stdout.write(formatGc(result));
    });
}
