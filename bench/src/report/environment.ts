/**
 * What the numbers were measured on: CPU, memory, load, tool versions, regcache's commit.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { runCommand } from '@regcache/testkit';
import type { Tools } from '../prerequisites.js';

export interface Environment {
  startedAt: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverage: string;
  node: string;
  versions: { nginx: string; dockerRegistry: string; wrk: string; ab: string; skopeo: string };
  regcacheCommit: string;
}

async function firstLine(command: string, args: string[], pattern?: RegExp): Promise<string> {
  const result = await runCommand(command, args, { timeoutMs: 10_000 });
  const text = `${result.stdout}\n${result.stderr}`;
  const line = (pattern === undefined ? text.split('\n').find((l) => l.trim() !== '') : pattern.exec(text)?.[0]) ?? 'unknown';
  return line.trim();
}

async function commit(): Promise<string> {
  const head = await runCommand('git', ['rev-parse', '--short', 'HEAD'], { timeoutMs: 10_000 });
  if (head.code !== 0) return 'unknown';
  const dirty = await runCommand('git', ['status', '--porcelain', '--', 'packages', 'apps'], { timeoutMs: 10_000 });
  return `${head.stdout.trim()}${dirty.stdout.trim() === '' ? '' : ' + uncommitted changes'}`;
}

export async function describeEnvironment(tools: Tools): Promise<Environment> {
  const [nginx, dockerRegistry, wrk, ab, skopeo, regcacheCommit] = await Promise.all([
    firstLine(tools.nginx, ['-v'], /nginx\/[\d.]+/),
    firstLine(tools.dockerRegistry, ['--version'], /v?\d+\.\d+\.\d+/).then((v) => `docker-registry ${v}`),
    firstLine(tools.wrk, ['-v'], /wrk \S+/),
    firstLine(tools.ab, ['-V'], /ApacheBench, Version \S+/),
    firstLine(tools.skopeo, ['--version'], /skopeo version \S+/),
    commit(),
  ]);
  const cpuList = cpus();
  return {
    startedAt: new Date().toISOString(),
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    loadAverage: loadavg().map((l) => l.toFixed(2)).join(' '),
    node: process.version,
    versions: { nginx, dockerRegistry, wrk, ab, skopeo },
    regcacheCommit,
  };
}
