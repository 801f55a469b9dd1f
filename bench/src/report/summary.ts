/**
 * From the blocks of every round to medians per target, ratios regcache ÷ each other target,
 * and the six targets checked against the medians of this run.
 */
import type { BlockResult } from '../block.js';
import type { BenchOptions, TargetId } from '../options.js';
import { medianOf, ratio } from '../stats.js';
import { metricDefs, type MetricKey } from './metrics.js';

export type MetricValues = Partial<Record<MetricKey, number>>;

export interface TargetCheck {
  id: number;
  goal: string;
  /** undefined when a figure it needs is missing. */
  pass: boolean | undefined;
  detail: string;
}

export interface Summary {
  medians: Partial<Record<TargetId, MetricValues>>;
  /** ratios[other][metric] = regcache ÷ other. */
  ratios: Partial<Record<TargetId, MetricValues>>;
  checks: TargetCheck[];
}

function mediansFor(id: TargetId, blocks: BlockResult[], options: BenchOptions): MetricValues {
  const values: MetricValues = {};
  for (const def of metricDefs(options).filter((d) => d.notFor?.includes(id) !== true)) {
    const m = medianOf(blocks.map((b) => def.get(b)));
    if (m !== undefined) values[def.key] = m;
  }
  return values;
}

function ratiosFor(regcache: MetricValues, other: MetricValues, options: BenchOptions): MetricValues {
  const values: MetricValues = {};
  for (const def of metricDefs(options).filter((d) => d.ratio)) {
    const r = ratio(regcache[def.key], other[def.key]);
    if (r !== undefined) values[def.key] = r;
  }
  return values;
}

const f = (value: number | undefined, digits = 2): string => (value === undefined ? 'n/a' : value.toFixed(digits));

function all(...conditions: Array<boolean | undefined>): boolean | undefined {
  if (conditions.some((c) => c === false)) return false;
  return conditions.some((c) => c === undefined) ? undefined : true;
}

const le = (a: number | undefined, b: number | undefined): boolean | undefined => (a === undefined || b === undefined ? undefined : a <= b);

function checks(m: Summary['medians'], options: BenchOptions): TargetCheck[] {
  const r = m.regcache ?? {};
  const d = m.direct ?? {};
  const n = m.nginx ?? {};
  const dist = m.distribution ?? {};
  const wall = r.coldWallS;
  const fasterBaseline = Math.max(dist.warmMiBps ?? 0, n.warmMiBps ?? 0) || undefined;
  return [
    {
      id: 1,
      goal: `cold fill: 1 upstream fetch, all ${options.coldClients} first bytes before the fill ends, wall ≤ 1.0 × direct and ≤ 0.8 × nginx`,
      pass: all(r.coldUpstreamFetches === undefined ? undefined : r.coldUpstreamFetches === 1, r.coldFirstBytesBeforeFillEnd === undefined ? undefined : r.coldFirstBytesBeforeFillEnd === options.coldClients, le(wall, d.coldWallS), le(wall, n.coldWallS === undefined ? undefined : 0.8 * n.coldWallS)),
      detail: `fetches ${f(r.coldUpstreamFetches, 0)}, first bytes before fill end ${f(r.coldFirstBytesBeforeFillEnd, 0)}/${options.coldClients}, wall ${f(wall)} s = ${f(ratio(wall, d.coldWallS))} × direct (${f(d.coldWallS)} s), ${f(ratio(wall, n.coldWallS))} × nginx (${f(n.coldWallS)} s)`,
    },
    {
      id: 2,
      goal: 'warm blob, one client: ≥ 1.0 × the faster baseline',
      pass: le(fasterBaseline, r.warmMiBps),
      detail: `${f(r.warmMiBps, 0)} MiB/s = ${f(ratio(r.warmMiBps, fasterBaseline))} × ${f(fasterBaseline, 0)} MiB/s (distribution ${f(dist.warmMiBps, 0)}, nginx ${f(n.warmMiBps, 0)})`,
    },
    {
      id: 3,
      goal: 'cached manifest GET by digest: ≥ 1.0 × nginx',
      pass: le(n.manifestGetRps, r.manifestGetRps),
      detail: `${f(r.manifestGetRps, 0)} req/s = ${f(ratio(r.manifestGetRps, n.manifestGetRps))} × nginx (${f(n.manifestGetRps, 0)}); ${f(ratio(r.manifestGetRps, dist.manifestGetRps))} × distribution (${f(dist.manifestGetRps, 0)})`,
    },
    {
      id: 4,
      goal: 'HEAD by tag within the TTL: ≥ 1.0 × nginx, 0 upstream requests',
      pass: all(le(n.headTagRps, r.headTagRps), r.headTagUpstreamRequests === undefined ? undefined : r.headTagUpstreamRequests === 0),
      detail: `${f(r.headTagRps, 0)} req/s = ${f(ratio(r.headTagRps, n.headTagRps))} × nginx (${f(n.headTagRps, 0)}), upstream requests ${f(r.headTagUpstreamRequests, 0)}`,
    },
    {
      id: 5,
      goal: `peak RSS with ${options.coldClients} clients streaming a ${options.blobMiB} MiB fill: ≤ 100 MiB`,
      pass: le(r.fillPeakRssMiB, 100),
      detail: `${f(r.fillPeakRssMiB, 0)} MiB (whole block ${f(r.peakRssMiB, 0)} MiB)`,
    },
    {
      id: 6,
      goal: 'cold skopeo pull of the 20-layer image: ≤ 1.1 × direct',
      pass: le(r.skopeoColdS, d.skopeoColdS === undefined ? undefined : 1.1 * d.skopeoColdS),
      detail: `${f(r.skopeoColdS)} s = ${f(ratio(r.skopeoColdS, d.skopeoColdS))} × direct (${f(d.skopeoColdS)} s)`,
    },
  ];
}

/** Medians, ratios and checks over every block of the run. */
export function summarise(blocks: BlockResult[], options: BenchOptions): Summary {
  const medians: Summary['medians'] = {};
  for (const id of options.targets) medians[id] = mediansFor(id, blocks.filter((b) => b.target === id), options);
  const ratios: Summary['ratios'] = {};
  const regcache = medians.regcache;
  if (regcache !== undefined) {
    for (const id of options.targets) {
      const other = medians[id];
      if (id !== 'regcache' && other !== undefined) ratios[id] = ratiosFor(regcache, other, options);
    }
  }
  return { medians, ratios, checks: regcache === undefined ? [] : checks(medians, options) };
}
