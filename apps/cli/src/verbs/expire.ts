/**
 * `regcache-admin expire IMAGE...`: mark cached tags as past their TTL, keeping them. The next
 * pull of each revalidates with the upstream (a HEAD) and gets the new manifest if the tag moved
 * — e.g. from a CI job right after it pushed a new `latest` upstream; if the upstream cannot
 * answer, the cached manifest is still served. `--all-tags` takes repositories and expires every
 * cached tag of each. Exits 1 if an image named is not in the cache (and no 404 was remembered for it).
 */
import type { Command } from 'commander';
import type { ExpireResult } from '@regcache/proxy-core';
import { verb } from '../command.js';
import { plural, printJson } from '../format.js';
import { withTarget, type GlobalFlags } from '../target.js';
import { namedImagesTable } from './rm.js';

export function formatExpire(r: ExpireResult): string {
  const lines = [namedImagesTable(r.images), ''];
  const names = r.tagsExpired.length === 0 ? '' : `: ${r.tagsExpired.join(', ')}`;
  lines.push(`expire: ${plural(r.tagsExpired.length, 'tag')} expired${names}; the next pull of each asks the upstream`);
  const forgotten = new Set(r.notFoundForgotten);
  for (const image of r.notFound) lines.push(forgotten.has(image) ? `not cached: ${image}; the 404 remembered for it is forgotten, the next pull asks the upstream` : `not cached: ${image}`);
  return `${lines.join('\n')}\n`;
}

export function registerExpire(program: Command): void {
  verb(program, 'expire <images...>', 'mark cached tags stale (e.g. alpine:3.20): the next pull revalidates with the upstream')
    .option('--all-tags', 'name repositories (docker.io/library/alpine): every cached tag of each')
    .action(async (images: string[], flags: GlobalFlags & { allTags?: boolean }) => {
      const result = await withTarget(flags, ({ ops }) => ops.expire({ images, allTags: flags.allTags === true }));
      if (flags.json) printJson(result);
      else process.stdout.write(formatExpire(result));
      // An image the cache never held but whose remembered 404 was just forgotten is what a CI job
      // expires right after pushing it upstream: done, not an error.
      if (result.notFound.some((image) => !result.notFoundForgotten.includes(image))) process.exitCode = 1;
    });
}
