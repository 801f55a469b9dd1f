/**
 * Writes the run: <out>/latest.json (options, environment, every block of every round, medians,
 * ratios, checks), <out>/latest.md (the report), and a dated copy of the JSON
 * (<out>/run-<time>.json) so runs before and after a change can be compared.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlockResult } from '../block.js';
import type { BenchContent } from '../content.js';
import type { BenchOptions } from '../options.js';
import type { Environment } from './environment.js';
import type { Summary } from './summary.js';

export interface RunRecord {
  schema: 1;
  options: BenchOptions;
  environment: Environment;
  finishedAt: string;
  content: BenchContent;
  summary: Summary;
  blocks: BlockResult[];
}

/** Writes the files; returns the paths of latest.json and latest.md. */
export async function writeResults(outDir: string, record: RunRecord, markdown: string): Promise<{ json: string; md: string }> {
  await mkdir(outDir, { recursive: true });
  const json = join(outDir, 'latest.json');
  const md = join(outDir, 'latest.md');
  const text = `${JSON.stringify(record, null, 2)}\n`;
  const stamp = record.environment.startedAt.replace(/[:.]/g, '-');
  await Promise.all([writeFile(json, text), writeFile(md, markdown), writeFile(join(outDir, `run-${stamp}.json`), text)]);
  return { json, md };
}
