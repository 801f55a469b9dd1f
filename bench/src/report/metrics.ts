/**
 * The table's rows: each metric is read from a block result, summarised as the median over the
 * rounds, and (where a ratio means something) compared as regcache ÷ the other target.
 */
import type { BlockResult } from '../block.js';
import type { BenchOptions, TargetId } from '../options.js';

export type MetricKey =
  | 'coldWallS'
  | 'coldUpstreamFetches'
  | 'coldFirstBytesBeforeFillEnd'
  | 'coldSlowestFirstByteS'
  | 'coldFillEndS'
  | 'coldCommitS'
  | 'warmMiBps'
  | 'manifestGetRps'
  | 'headTagRps'
  | 'headTagUpstreamRequests'
  | 'peakRssMiB'
  | 'fillPeakRssMiB'
  | 'skopeoColdS'
  | 'fillColdCpuMs'
  | 'fillWarmCpuMs'
  | 'fillUpstreamFetches';

export interface MetricDef {
  key: MetricKey;
  label: string;
  /** Decimal places in the table. */
  digits: number;
  /** Ratios are shown for measured quantities, not for counts. */
  ratio: boolean;
  /** Which direction is better (for the reader; the checks say what the targets are). */
  better: 'lower' | 'higher';
  /** Targets for which the metric means nothing (shown as —). */
  notFor?: TargetId[];
  get(block: BlockResult): number | undefined;
}

function slowest(values: number[] | undefined): number | undefined {
  return values === undefined || values.length === 0 ? undefined : Math.max(...values);
}

/** The metrics in table order, labelled with the run's sizes. */
export function metricDefs(options: BenchOptions): MetricDef[] {
  const cold = `${options.coldClients} concurrent cold GETs of one ${options.blobMiB} MiB blob`;
  const c = options.connections;
  return [
    { key: 'coldWallS', label: `${cold}: wall s`, digits: 2, ratio: true, better: 'lower', get: (b) => b.coldFill?.wallS },
    { key: 'coldUpstreamFetches', label: '… upstream fetches of that blob', digits: 0, ratio: false, better: 'lower', get: (b) => b.coldFill?.upstreamFetches },
    { key: 'coldFirstBytesBeforeFillEnd', label: `… clients with their first byte before the upstream transfer ended (of ${options.coldClients})`, digits: 0, ratio: false, better: 'higher', notFor: ['direct'], get: (b) => b.coldFill?.firstBytesBeforeFillEnd },
    { key: 'coldSlowestFirstByteS', label: '… slowest client\'s first byte, s', digits: 2, ratio: true, better: 'lower', get: (b) => slowest(b.coldFill?.ttfbS) },
    { key: 'coldFillEndS', label: '… upstream transfer of the fill ended at, s', digits: 2, ratio: true, better: 'lower', notFor: ['direct'], get: (b) => b.coldFill?.fillEndS },
    { key: 'coldCommitS', label: '… blob committed to the cache\'s storage at, s', digits: 2, ratio: true, better: 'lower', notFor: ['direct'], get: (b) => b.coldFill?.commitS },
    { key: 'warmMiBps', label: `warm ${options.blobMiB} MiB blob, one client: MiB/s`, digits: 0, ratio: true, better: 'higher', get: (b) => b.warmBlob?.mibPerS },
    { key: 'manifestGetRps', label: `cached manifest GET by digest: req/s (wrk -c${c})`, digits: 0, ratio: true, better: 'higher', get: (b) => b.manifestGet?.reqPerS },
    { key: 'headTagRps', label: `HEAD manifest by tag, within TTL: req/s (ab -k -c${c})`, digits: 0, ratio: true, better: 'higher', get: (b) => b.headTag?.reqPerS },
    { key: 'headTagUpstreamRequests', label: '… upstream requests during that load', digits: 0, ratio: false, better: 'lower', get: (b) => b.headTag?.upstreamRequests },
    { key: 'peakRssMiB', label: 'peak RSS while serving (whole block), MiB', digits: 0, ratio: true, better: 'lower', get: (b) => b.peakRssMiB },
    { key: 'fillPeakRssMiB', label: `peak RSS during the ${options.coldClients}-client cold fill, MiB`, digits: 0, ratio: true, better: 'lower', get: (b) => b.fillPeakRssMiB },
    { key: 'skopeoColdS', label: 'cold skopeo pull of the 20-layer image (256 MiB): wall s', digits: 2, ratio: true, better: 'lower', get: (b) => b.skopeo?.seconds },
    { key: 'fillColdCpuMs', label: 'cold 64 KiB blobs, one at a time: server CPU ms per blob', digits: 2, ratio: true, better: 'lower', get: (b) => b.fillCost?.coldCpuMs },
    { key: 'fillWarmCpuMs', label: '… the same blobs again, warm: server CPU ms per blob', digits: 2, ratio: true, better: 'lower', get: (b) => b.fillCost?.warmCpuMs },
    { key: 'fillUpstreamFetches', label: '… upstream GETs of those blobs over both passes', digits: 0, ratio: false, better: 'lower', get: (b) => b.fillCost?.upstreamFetches },
  ];
}
