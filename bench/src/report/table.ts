/**
 * The Markdown report: the table of medians with ratios regcache ÷ each other target, the
 * issue's targets checked, the failed rows, and the machine it ran on. Printed and written to
 * latest.md.
 */
import type { BlockResult } from '../block.js';
import type { BenchOptions, TargetId } from '../options.js';
import { TARGET_LABELS } from '../targets/index.js';
import type { Environment } from './environment.js';
import { metricDefs, type MetricDef } from './metrics.js';
import type { Summary } from './summary.js';

function cell(value: number | undefined, digits: number): string {
  return value === undefined ? '—' : value.toFixed(digits);
}

function ratioCell(value: number | undefined): string {
  return value === undefined ? '—' : `${value.toFixed(2)}×`;
}

function metricRow(def: MetricDef, summary: Summary, targets: TargetId[], others: TargetId[]): string {
  const values = targets.map((id) => cell(summary.medians[id]?.[def.key], def.digits));
  const ratios = others.map((id) => (def.ratio ? ratioCell(summary.ratios[id]?.[def.key]) : ''));
  return `| ${def.label} | ${[...values, ...ratios].join(' | ')} |`;
}

function table(summary: Summary, options: BenchOptions): string[] {
  const targets = options.targets;
  const others = targets.includes('regcache') ? targets.filter((id) => id !== 'regcache') : [];
  const header = [...targets.map((id) => TARGET_LABELS[id]), ...others.map((id) => `regcache ÷ ${id}`)];
  return [
    `| metric (median of ${options.rounds}) | ${header.join(' | ')} |`,
    `|---|${header.map(() => '---:').join('|')}|`,
    ...metricDefs(options).map((def) => metricRow(def, summary, targets, others)),
  ];
}

function checkLines(summary: Summary): string[] {
  if (summary.checks.length === 0) return [];
  const mark = (pass: boolean | undefined): string => (pass === true ? 'met' : pass === false ? 'MISSED' : 'n/a');
  return ['', 'Issue 6 targets, regcache against this run:', '', ...summary.checks.map((c) => `${c.id}. **${mark(c.pass)}** — ${c.goal}: ${c.detail}`)];
}

function errorLines(blocks: BlockResult[]): string[] {
  const lines = blocks.flatMap((b) => Object.entries(b.errors).map(([row, message]) => `- round ${b.round}, ${b.target}, ${row}: ${message.split('\n')[0] ?? ''}`));
  return lines.length === 0 ? [] : ['', 'Failed rows (left out of the medians):', '', ...lines];
}

function environmentLines(env: Environment, options: BenchOptions): string[] {
  return [
    '',
    `Run ${env.startedAt}, ${options.rounds} rounds, loads ${options.durationS} s × ${options.connections} connections; ${env.cpus} × ${env.cpuModel}, ` +
      `${env.memoryGiB} GiB RAM, load average at start ${env.loadAverage}; Node ${env.node}, ${env.versions.nginx}, ${env.versions.dockerRegistry}, ` +
      `${env.versions.wrk}, ${env.versions.ab}, ${env.versions.skopeo}; regcache ${env.regcacheCommit}.`,
  ];
}

/** The whole Markdown report. */
export function renderReport(summary: Summary, blocks: BlockResult[], env: Environment, options: BenchOptions): string {
  return [...table(summary, options), ...checkLines(summary), ...errorLines(blocks), ...environmentLines(env, options), ''].join('\n');
}
