/**
 * Human units used in configuration and CLI flags: durations (`30s`, `5m`, `1h`, `1d`, or a
 * number of seconds) and sizes (`512MiB`, `50GiB`, `10GB`, or a number of bytes).
 * Pure functions returning `undefined` on bad input; the zod schema turns that into an error
 * that names the config key.
 */
const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1000 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/**
 * True for a number written without its unit (`30`, ` 2.5 `). Where a size or an age decides
 * what is deleted (gc), a human's bare number is refused rather than read as bytes or seconds:
 * `--max-age 30` meant as days would have removed everything older than 30 seconds.
 */
export function lacksUnit(input: string): boolean {
  return /^\s*\d+(?:\.\d+)?\s*$/.test(input);
}

/** Milliseconds for `90s`, `5m`, `1h30m` is not accepted: one number, one unit. Plain numbers are seconds. */
export function parseDurationMs(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input * 1000 : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(input);
  if (!m || m[1] === undefined) return undefined;
  const unit = DURATION_UNITS[(m[2] ?? 's').toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** Bytes for `50GiB`, `512MB`, `1.5TiB`; plain numbers are bytes. */
export function parseSizeBytes(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input);
  if (!m || m[1] === undefined) return undefined;
  const unit = SIZE_UNITS[(m[2] || 'b').toLowerCase()];
  return unit === undefined ? undefined : Math.floor(Number(m[1]) * unit);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}
