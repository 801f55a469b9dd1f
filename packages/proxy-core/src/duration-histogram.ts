/**
 * regcache_request_duration_seconds{route}: a Prometheus histogram that can take many
 * observations at once. prom-client's Histogram observes one value per call (a label hash, a
 * bucket search, a map write); replayed hot answers (hot-responses.ts, apps/server's fronts)
 * arrive by the hundred thousand a second, mostly in batches from other threads, and must land
 * in the histogram as requests_total counts them — so each route's series here is a few plain
 * numbers, and `observeMany` adds a whole batch with one bucket search.
 *
 * It is a prom-client Histogram only to be registered and rendered with the rest: what it
 * renders is its own series (`getForPromString`, which the registry reads), in the exposition
 * prom-client writes for its own histograms (cumulative `le` buckets, `+Inf`, `_sum`, `_count`).
 */
import { Histogram, type Registry } from 'prom-client';

/** One route's series. */
export interface DurationSeries {
  /** `count` observations (default 1) of `seconds` each. */
  observe(seconds: number, count?: number): void;
}

/** A sample as prom-client's registry reads it (`sharedLabels`: what prom-client's own `get` merges into `labels`). */
interface Value {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Rendered {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly values: Value[];
  readonly aggregator: 'sum';
}

interface Series extends DurationSeries {
  readonly route: string;
  /** Per bucket (not cumulative), then one for what is above the last bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

function createSeries(route: string, bounds: readonly number[]): Series {
  const counts = new Float64Array(bounds.length + 1);
  const series: Series = {
    route,
    counts,
    sum: 0,
    count: 0,
    observe(seconds, count = 1) {
      let i = 0;
      while (i < bounds.length && seconds > (bounds[i] as number)) i++;
      counts[i] = (counts[i] as number) + count;
      series.sum += seconds * count;
      series.count += count;
    },
  };
  return series;
}

function render(series: Series, name: string, bounds: readonly number[]): Value[] {
  const values: Value[] = [];
  const sharedLabels = { route: series.route };
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += series.counts[i] as number;
    values.push({ metricName: `${name}_bucket`, labels: { le }, sharedLabels, value: cumulative });
  });
  values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, sharedLabels, value: series.count });
  values.push({ metricName: `${name}_sum`, labels: {}, sharedLabels, value: series.sum });
  values.push({ metricName: `${name}_count`, labels: {}, sharedLabels, value: series.count });
  return values;
}

export interface DurationHistogramOptions {
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  readonly registers: Registry[];
}

export class DurationHistogram extends Histogram<'route'> {
  private readonly opts: DurationHistogramOptions;
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, Series>();

  constructor(opts: DurationHistogramOptions) {
    super({ name: opts.name, help: opts.help, labelNames: ['route'], buckets: [...opts.buckets], registers: opts.registers });
    this.opts = opts;
    this.bounds = [...opts.buckets].sort((a, b) => a - b);
  }

  /** The series of `route` (the same object every time). */
  route(route: string): DurationSeries {
    let s = this.series.get(route);
    if (s === undefined) this.series.set(route, (s = createSeries(route, this.bounds)));
    return s;
  }

  /** What the registry renders (it prefers this to `get`; prom-client's `get` reads it too). */
  getForPromString(): Rendered {
    const values: Value[] = [];
    for (const s of this.series.values()) if (s.count > 0) values.push(...render(s, this.opts.name, this.bounds));
    return { name: this.opts.name, help: this.opts.help, type: 'histogram', values, aggregator: 'sum' };
  }

  /** Also called by prom-client's constructor, before the fields above exist. */
  override reset(): void {
    super.reset();
    this.series?.clear();
  }
}
