/**
 * `regcache-admin verify`: re-hash stored blobs (all, or `--sample N`) and report any that no
 * longer match their digest; `--repair` removes them (the next pull fetches them again).
 * Exits 1 when it finds a problem it did not repair.
 */
import type { Command } from 'commander';
import { formatBytes, type VerifyResult } from '@regcache/proxy-core';
import { countArg, verb } from '../command.js';
import { plural, printJson } from '../format.js';
import { withProgress } from '../progress.js';
import { withTarget, type GlobalFlags } from '../target.js';

interface VerifyFlags extends GlobalFlags {
  sample?: number;
  repair?: boolean;
}

export function formatVerify(r: VerifyResult): string {
  const scope = r.sample === null ? '' : ` (a random sample of ${r.sample})`;
  const lines = [`verified ${plural(r.verified, 'blob')}${scope}, ${formatBytes(r.verifiedBytes)}`];
  const fate = r.repaired ? 'removed' : 'not removed: run with --repair';
  for (const digest of r.corrupt) lines.push(`corrupt: ${digest} (${fate})`);
  for (const digest of r.missingFiles) lines.push(`index entry without a file: ${digest}${r.repaired ? ' (dropped)' : ''}`);
  if (r.unindexedFiles > 0) lines.push(`files without an index entry: ${r.unindexedFiles}${r.repaired ? ' (re-indexed or removed)' : ''}`);
  if (r.tempFiles > 0) lines.push(`orphaned temp files: ${r.tempFiles}${r.repaired ? ' (removed)' : ''}`);
  const problems = r.corrupt.length + r.missingFiles.length + (r.unindexedFiles > 0 ? 1 : 0) + (r.tempFiles > 0 ? 1 : 0);
  if (problems === 0) lines.push('verify: ok, every blob matches its digest');
  else lines.push(`verify: ${plural(r.corrupt.length, 'corrupt blob')}${r.repaired ? ', repaired' : ''}`);
  return `${lines.join('\n')}\n`;
}

export function registerVerify(program: Command): void {
  verb(program, 'verify', 're-hash stored blobs and report (or with --repair remove) any that do not match their digest')
    .option('--sample <n>', 're-hash only N blobs chosen at random', countArg)
    .option('--repair', 'remove corrupt blobs (and fix index entries without files, stray and temp files)')
    .action(async (flags: VerifyFlags) => {
      const opts = { sample: flags.sample, repair: flags.repair === true };
      const result = await withProgress('verify', (progress) => withTarget(flags, ({ ops }) => ops.verify(opts, (p) => progress.update(p))));
      if (flags.json) printJson(result);
      else process.stdout.write(formatVerify(result));
      if (!result.ok) process.exitCode = 1;
    });
}
