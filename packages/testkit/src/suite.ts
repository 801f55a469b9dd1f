/**
 * The reliability suite's scale. `npm test` runs a short version of every reliability test;
 * `npm run test:reliability` sets REGCACHE_SUITE=long and each test scales its parameters up
 * (kills, fuzzed inputs, seconds of load, fault rounds). One parameter can be set on its own
 * with its env var (e.g. REGCACHE_KILLS=150). Figures are printed as one line per test and
 * appended as JSON lines to `reports/reliability-figures.ndjson` (in the package being tested).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type SuiteScale = 'short' | 'long';

export function suiteScale(): SuiteScale {
  return process.env['REGCACHE_SUITE'] === 'long' ? 'long' : 'short';
}

/** `REGCACHE_<name>` when set to a positive number, else `short` or `long` by the suite's scale. */
export function scaled(name: string, short: number, long: number): number {
  const raw = process.env[`REGCACHE_${name}`];
  const given = raw === undefined ? Number.NaN : Number(raw);
  if (Number.isFinite(given) && given > 0) return given;
  return suiteScale() === 'long' ? long : short;
}

export type Figures = Readonly<Record<string, number | string | boolean>>;

/** Prints `[reliability] test: k=v …` and records it for the run's summary. */
export function reportFigures(test: string, figures: Figures): void {
  const line = Object.entries(figures)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
  console.log(`[reliability] ${test} (${suiteScale()}): ${line}`);
  try {
    const dir = join(process.cwd(), 'reports');
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, 'reliability-figures.ndjson'), `${JSON.stringify({ test, suite: suiteScale(), at: new Date().toISOString(), ...figures })}\n`);
  } catch {
    // the printed line is the record of last resort
  }
}
