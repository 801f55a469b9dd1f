/** `regcache-admin stats`: size against budget, counts, hits and misses, per upstream and in total. */
import { collectStats, formatBytes, type StatsReport, type UpstreamStats } from '@regcache/proxy-core';
import type { Target } from '../target.js';
import { renderTable } from '../table.js';

export async function statsReport(target: Target): Promise<StatsReport> {
  if (target.kind === 'server') return target.admin.get<StatsReport>('/stats');
  return collectStats(target.store, target.config.storage.maxSize);
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

function upstreamRow(name: string, s: UpstreamStats): string[] {
  return [name, String(s.hits), String(s.misses), String(s.coalesced), percent(s.hitRatio), formatBytes(s.bytesFromCache), formatBytes(s.bytesFromUpstream), String(s.upstreamErrors)];
}

export function formatStats(report: StatsReport): string {
  const budget = report.maxSizeBytes === null ? 'no budget' : `of ${formatBytes(report.maxSizeBytes)} (${percent(report.sizeBytes / report.maxSizeBytes)})`;
  const summary = renderTable(
    ['store', 'value'],
    [
      ['size on disk', `${formatBytes(report.sizeBytes)} ${budget}`],
      ['blobs', String(report.blobs)],
      ['manifests', String(report.manifests)],
      ['tags', String(report.tags)],
      ['repositories', String(report.repositories)],
      ['fill failures', String(report.fillFailures)],
    ],
  );
  const rows = Object.entries(report.upstreams).map(([name, s]) => upstreamRow(name, s));
  rows.push(upstreamRow('total', report));
  const traffic = renderTable(['upstream', 'hits', 'misses', 'coalesced', 'hit ratio', 'from cache', 'from upstream', 'upstream errors'], rows);
  return `${summary}\n\n${traffic}\n`;
}
