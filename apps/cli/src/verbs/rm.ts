/**
 * `regcache-admin rm IMAGE...`: forget images' tags: no longer listed or served, the next pull
 * by tag is a miss (to see a moved tag but keep serving offline, `expire` is the tool).
 * `--purge` also deletes their content from disk, except blobs another cached image still uses
 * and blobs in use right now (their images stay named; the output says what to run later).
 * `--all-tags` takes repositories instead (every cached tag of each, e.g. after a repository policy
 * denied it). `--dry-run` shows what would change. Exits 1 if an image named is not in the cache.
 */
import type { Command } from 'commander';
import { formatBytes, type NamedImage, type RemoveResult } from '@regcache/proxy-core';
import { verb } from '../command.js';
import { plural, printJson, shortDigest } from '../format.js';
import { withProgress } from '../progress.js';
import { renderTable } from '../table.js';
import { withTarget, type GlobalFlags } from '../target.js';

interface RmFlags extends GlobalFlags {
  allTags?: boolean;
  purge?: boolean;
  dryRun?: boolean;
}

function purgeLine(r: RemoveResult): string {
  const verbText = r.dryRun ? 'would delete' : 'deleted';
  const kept = `kept ${plural(r.keptShared, 'blob')} another cached image uses`;
  const busy = r.skippedInUse === 0 ? '' : `; ${plural(r.skippedInUse, 'blob')} in use now, not deleted`;
  const again = r.retry.length === 0 ? '' : `\n  kept to finish later: regcache-admin rm --purge ${r.retry.join(' ')}`;
  return `${verbText} ${plural(r.removed.length, 'blob')}, ${formatBytes(r.freedBytes)}; ${kept}${busy}${again}`;
}

/** The images an rm or expire named: the manifest each means and how many tags it named. */
export function namedImagesTable(images: readonly NamedImage[]): string {
  const rows = images.map((i) => [i.image, i.digest === null ? '-' : shortDigest(i.digest), i.digest === null ? 'not cached' : String(i.tags.length)]);
  return renderTable(['image', 'manifest', 'tags'], rows, [2]);
}

export function formatRm(r: RemoveResult): string {
  const lines = [namedImagesTable(r.images)];
  const forgetVerb = r.dryRun ? 'would forget' : 'forgot';
  lines.push('', `rm${r.dryRun ? ' (dry run)' : ''}: ${forgetVerb} ${plural(r.tagsForgotten.length, 'tag')}${r.tagsForgotten.length === 0 ? '' : `: ${r.tagsForgotten.join(', ')}`}`);
  if (r.purge) lines.push(`  ${purgeLine(r)}`);
  // The named repositories stop serving what they only linked to: content kept for other images, or never stored.
  if (r.linksDropped > 0) lines.push(`  ${r.dryRun ? 'would drop' : 'dropped'} ${plural(r.linksDropped, 'link')} of these repositories to blobs kept for other images or not stored`);
  for (const image of r.notFound) lines.push(`not cached: ${image}`);
  return `${lines.join('\n')}\n`;
}

export function registerRm(program: Command): void {
  verb(program, 'rm <images...>', 'forget cached images (e.g. docker.io/library/alpine:3.20): the next pull asks the upstream')
    .option('--all-tags', 'name repositories (docker.io/library/alpine): every cached tag of each')
    .option('--purge', 'also delete their blobs from disk (not those another cached image uses)')
    .option('--dry-run', 'show what would be forgotten and deleted; change nothing')
    .action(async (images: string[], flags: RmFlags) => {
      const opts = { images, allTags: flags.allTags === true, purge: flags.purge === true, dryRun: flags.dryRun === true };
      const result = await withProgress(flags.dryRun ? 'rm (dry run)' : 'rm: deleting', (progress) => withTarget(flags, ({ ops }) => ops.remove(opts, (p) => progress.update(p))));
      if (flags.json) printJson(result);
      else process.stdout.write(formatRm(result));
      if (result.notFound.length > 0) process.exitCode = 1;
    });
}
