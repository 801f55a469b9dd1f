/**
 * `regcache-admin warm IMAGE...`: pre-pull images into the cache through the normal fill
 * path — every platform of an index, or `--platform linux/arm64`. Exits 1 if any image
 * could not be pulled.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { formatBytes, parsePlatform, type WarmProgress, type WarmResult } from '@regcache/proxy-core';
import { verb } from '../command.js';
import { printJson } from '../format.js';
import { withProgress, type ProgressUpdate } from '../progress.js';
import { renderTable } from '../table.js';
import { withTarget, type GlobalFlags } from '../target.js';

interface WarmFlags extends GlobalFlags {
  platform?: string;
}

function platformArg(value: string): string {
  try {
    parsePlatform(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return value;
}

function toUpdate(p: WarmProgress): ProgressUpdate {
  return { done: p.done, total: p.total, bytes: p.bytes, totalBytes: p.totalBytes };
}

export function formatWarm(r: WarmResult): string {
  const rows = r.images.map((i) => [
    i.image,
    i.platforms.length === 0 ? '-' : i.platforms.join(', '),
    String(i.blobs),
    formatBytes(i.bytes),
    String(i.cachedBlobs),
    formatBytes(i.fetchedBytes),
  ]);
  const lines = rows.length === 0 ? [] : [renderTable(['image', 'platforms', 'blobs', 'size', 'already cached', 'fetched'], rows, [2, 3, 4, 5])];
  for (const failure of r.failed) lines.push(`failed: ${failure.image}: ${failure.error}`);
  return `${lines.join('\n')}\n`;
}

export function registerWarm(program: Command): void {
  verb(program, 'warm <images...>', 'pre-pull images into the cache (e.g. docker.io/library/alpine:3.20)')
    .option('--platform <os/arch>', 'only this platform (of an index; a single-platform image must be it), e.g. linux/arm64', platformArg)
    .action(async (images: string[], flags: WarmFlags) => {
      const opts = { images, platform: flags.platform };
      const result = await withProgress('warm', (progress) => withTarget(flags, ({ ops }) => ops.warm(opts, (p) => progress.update(toUpdate(p))), { create: true }));
      if (flags.json) printJson(result);
      else process.stdout.write(formatWarm(result));
      if (result.failed.length > 0) process.exitCode = 1;
    });
}
