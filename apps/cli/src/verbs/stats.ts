/** `regcache-admin stats`: size against budget, counts, hits and misses, per upstream and in total, top repositories. */
import type { Command } from 'commander';
import { formatBytes, type StatsReport, type UpstreamStats } from '@regcache/proxy-core';
import { verb } from '../command.js';
import { percent, printJson } from '../format.js';
import { renderTable } from '../table.js';
import { withTarget, type GlobalFlags } from '../target.js';

function upstreamRow(name: string, s: UpstreamStats): string[] {
  return [
    name,
    String(s.hits),
    String(s.misses),
    String(s.coalesced),
    String(s.stale),
    percent(s.hitRatio),
    formatBytes(s.bytesFromCache),
    formatBytes(s.bytesFromUpstream),
    String(s.upstreamErrors),
    s.rateLimitRemaining === null ? '-' : String(s.rateLimitRemaining),
  ];
}

export function formatStats(report: StatsReport): string {
  const budget = report.maxSizeBytes === null ? '(no budget)' : `of ${formatBytes(report.maxSizeBytes)} (${percent(report.sizeBytes / report.maxSizeBytes)})`;
  const summary = renderTable(
    ['store', 'value'],
    [
      ['size on disk', `${formatBytes(report.sizeBytes)} ${budget}`],
      ['blobs', String(report.blobs)],
      ['manifests', String(report.manifests)],
      ['tags', String(report.tags)],
      ['repositories', String(report.repositories)],
      ['fill failures', String(report.fillFailures)],
      ['prefetched blobs', String(report.prefetches)],
      ['from mirrors', String(report.mirrorFetches)],
      ['disk errors', String(report.diskErrors)],
      ['store errors', String(report.storeErrors)],
    ],
  );
  const rows = Object.entries(report.upstreams).map(([name, s]) => upstreamRow(name, s));
  rows.push(upstreamRow('total', report));
  const header = ['upstream', 'hits', 'misses', 'coalesced', 'stale', 'hit ratio', 'from cache', 'from upstream', 'errors', 'rate limit left'];
  const top = report.topRepositories.map((r) => [r.repository, formatBytes(r.bytesServed)]);
  const repos = top.length === 0 ? 'no bytes served yet' : renderTable(['top repositories', 'served'], top, [1]);
  return `${summary}\n\n${renderTable(header, rows, [1, 2, 3, 4, 5, 6, 7, 8, 9])}\n\n${repos}\n`;
}

export function registerStats(program: Command): void {
  verb(program, 'stats', 'size against budget, counts, hits and misses per upstream, top repositories').action(async (flags: GlobalFlags) => {
    const report = await withTarget(flags, ({ ops }) => ops.stats());
    if (flags.json) printJson(report);
    else process.stdout.write(formatStats(report));
  });
}
