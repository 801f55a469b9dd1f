/**
 * Summarises a V8 .cpuprofile (what `node --cpu-prof` writes): self time per function and per
 * area (regcache package, npm package, Node core, GC, idle), and total (inclusive) time of
 * regcache's own functions, as a Markdown fragment. Note: V8 books time spent in a system call
 * to the native binding that made it (`writev`, `writeLatin1String`, `read`), so kernel work
 * (loopback TCP) shows up there; `perf` separates the two. An async function's total covers
 * only the stretches its own frame is on the stack (code after an await runs from a microtask).
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  area: string;
  ms: number;
  /** Share of the busy (non-idle) time, percent. */
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  functions: SelfTime[];
  areas: SelfTime[];
  /** regcache's own functions by total (inclusive) time: what each costs with what it calls. */
  ownTotals: SelfTime[];
}

type Totals = Map<string, { area: string; us: number }>;

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Where a function lives: a regcache package, an npm package, Node core, or a V8 pseudo-frame. */
export function areaOf(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName) && frame.url === '') return frame.functionName;
  const url = frame.url;
  if (url.startsWith('node:')) return 'node core';
  const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm?.[1] !== undefined && !nm[1].startsWith('@regcache/')) return `npm ${nm[1]}`;
  const own = /\/(packages|apps)\/([^/]+)\//.exec(url);
  if (own?.[2] !== undefined) return `regcache ${own[1]}/${own[2]}`;
  return url === '' ? '(native / V8)' : url;
}

function shortUrl(url: string): string {
  const own = /\/((?:packages|apps)\/.+)$/.exec(url);
  if (own?.[1] !== undefined) return own[1];
  const nm = /\/node_modules\/(.+)$/.exec(url);
  return nm?.[1] ?? url;
}

function frameName(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return frame.url === '' ? name : `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function ranked(totals: Totals, busyUs: number): SelfTime[] {
  return [...totals.entries()]
    .map(([name, { area, us }]) => ({ name, area, ms: us / 1000, percent: busyUs === 0 ? 0 : (100 * us) / busyUs }))
    .sort((a, b) => b.ms - a.ms);
}

function addTo(totals: Totals, key: string, area: string, us: number): void {
  totals.set(key, { area, us: (totals.get(key)?.us ?? 0) + us });
}

/** Adds a sample's time to every distinct regcache function on its stack (recursion counted once). */
function addInclusive(totals: Totals, leaf: number, us: number, byId: Map<number, ProfileNode>, parents: Map<number, number>): void {
  const seen = new Set<string>();
  for (let id: number | undefined = leaf; id !== undefined; id = parents.get(id)) {
    const node = byId.get(id);
    if (node === undefined) break;
    const area = areaOf(node.callFrame);
    if (!area.startsWith('regcache ')) continue;
    const key = frameName(node.callFrame);
    if (seen.has(key)) continue;
    seen.add(key);
    addTo(totals, key, area, us);
  }
}

/** Reads and summarises a .cpuprofile file. */
export async function summariseProfile(path: string): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map(profile.nodes.flatMap((n) => (n.children ?? []).map((child): [number, number] => [child, n.id])));
  const ownTotals: Totals = new Map();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const functions: Totals = new Map();
  const areas: Totals = new Map();
  let idleUs = 0;
  let totalUs = 0;
  samples.forEach((id, i) => {
    const node = byId.get(id);
    const us = Math.max(0, deltas[i + 1] ?? 0);
    if (node === undefined) return;
    totalUs += us;
    const area = areaOf(node.callFrame);
    if (area === '(idle)') {
      idleUs += us;
      return;
    }
    addTo(functions, frameName(node.callFrame), area, us);
    addTo(areas, area, area, us);
    addInclusive(ownTotals, id, us, byId, parents);
  });
  const busyUs = totalUs - idleUs;
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    functions: ranked(functions, busyUs),
    areas: ranked(areas, busyUs),
    ownTotals: ranked(ownTotals, busyUs),
  };
}

/** The summary as Markdown: areas, then the top `limit` functions by self time. */
export function renderProfile(title: string, summary: ProfileSummary, limit = 20): string {
  const pct = (n: number): string => `${n.toFixed(1)}%`;
  return [
    `### ${title}`,
    '',
    `Sampled ${(summary.totalMs / 1000).toFixed(1)} s: busy ${(summary.busyMs / 1000).toFixed(1)} s, idle ${(summary.idleMs / 1000).toFixed(1)} s. Shares are of the busy time.`,
    '',
    '| area | self ms | share |',
    '|---|---:|---:|',
    ...summary.areas.slice(0, 12).map((a) => `| ${a.name} | ${a.ms.toFixed(0)} | ${pct(a.percent)} |`),
    '',
    '| function (self time) | area | self ms | share |',
    '|---|---|---:|---:|',
    ...summary.functions.slice(0, limit).map((f) => `| \`${f.name}\` | ${f.area} | ${f.ms.toFixed(0)} | ${pct(f.percent)} |`),
    '',
    '| regcache function (total time, callees included) | area | total ms | share |',
    '|---|---|---:|---:|',
    ...summary.ownTotals.slice(0, limit).map((f) => `| \`${f.name}\` | ${f.area} | ${f.ms.toFixed(0)} | ${pct(f.percent)} |`),
    '',
  ].join('\n');
}
