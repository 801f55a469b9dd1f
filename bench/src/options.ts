/**
 * Command-line options of `npm run bench -- [options]`.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';

export const TARGET_IDS = ['direct', 'distribution', 'nginx', 'regcache'] as const;
export type TargetId = (typeof TARGET_IDS)[number];

export interface BenchOptions {
  /** Rounds of every row for every target (medians are taken over them). */
  rounds: number;
  /** Seconds of each wrk / ab load. */
  durationS: number;
  /** Size of the big incompressible layer in MiB (256 in the table). */
  blobMiB: number;
  /** Concurrent clients of the cold-fill row. */
  coldClients: number;
  /** Connections of the wrk / ab loads. */
  connections: number;
  /** Which targets to measure (default all four; ratios need regcache). */
  targets: TargetId[];
  /** Profile regcache (--cpu-prof) under the manifest-GET, HEAD-by-tag, warm-blob and cold loads instead. */
  profile: boolean;
  /** Where latest.json / latest.md (and profiles/) go. */
  outDir: string;
  /** Absolute path of the built regcache server (apps/server/dist/main.js). */
  serverMain: string;
}

const USAGE = `usage: npm run bench -- [--rounds N] [--duration S] [--blob-mib N] [--clients N]
                        [--connections N] [--targets direct,distribution,nginx,regcache]
                        [--profile] [--out DIR]`;

/** `--help`: the usage, on stdout, and a clean exit (main.ts). */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
  constructor() {
    super(USAGE);
  }
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive integer, got "${value}"\n${USAGE}`);
  return parsed;
}

function targetList(value: string | undefined): TargetId[] {
  if (value === undefined) return [...TARGET_IDS];
  const wanted = value.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const unknown = wanted.filter((t) => !(TARGET_IDS as readonly string[]).includes(t));
  if (unknown.length > 0 || wanted.length === 0) throw new Error(`--targets: unknown ${unknown.join(', ') || '(empty)'}; choose from ${TARGET_IDS.join(', ')}`);
  return TARGET_IDS.filter((t) => wanted.includes(t));
}

/** Parses argv (without node and script); throws with the usage on a bad value. */
export function parseOptions(argv: string[], cwd = process.cwd()): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      'blob-mib': { type: 'string' },
      clients: { type: 'string' },
      connections: { type: 'string' },
      targets: { type: 'string' },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help === true) throw new HelpRequested();
  return {
    rounds: positiveInt('rounds', values.rounds, 3),
    durationS: positiveInt('duration', values.duration, 5),
    blobMiB: positiveInt('blob-mib', values['blob-mib'], 256),
    coldClients: positiveInt('clients', values.clients, 16),
    connections: positiveInt('connections', values.connections, 32),
    targets: targetList(values.targets),
    profile: values.profile === true,
    outDir: resolve(cwd, values.out ?? 'bench-results'),
    serverMain: resolve(cwd, 'apps/server/dist/main.js'),
  };
}
