/**
 * `npm run bench -- --profile`: regcache alone under `node --cpu-prof`, one fresh server per
 * load so each profile shows one thing — the cached manifest GET by digest (wrk), HEAD by tag
 * within the TTL (ab) and warm reads of the big blob (one client, 10 reads, the fill done
 * beforehand by an unprofiled instance on the same data dir) — each load twice as long as in
 * the bench — then the cold rows: the 16-client cold fill and the cold skopeo pull. Startup
 * and one priming request are in each profile too; they are small. Writes bench-results/profiles/<load>/*.cpuprofile (open them in Chrome
 * DevTools or speedscope) and a summary of self time, printed and in profiles/summary.md.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, tempDir, type RunningRegistry } from '@regcache/testkit';
import { seedUpstream, type BenchContent } from '../content.js';
import { log } from '../log.js';
import { blobGet } from '../measure/blob-client.js';
import { coldFill } from '../measure/cold-fill.js';
import { skopeoColdPull } from '../measure/skopeo-pull.js';
import { expectBody } from '../measure/http-get.js';
import { headByTag, manifestGetByDigest } from '../measure/manifest-loads.js';
import type { BenchOptions } from '../options.js';
import type { Tools } from '../prerequisites.js';
import { startRegcache } from '../targets/regcache.js';
import type { Target } from '../targets/index.js';
import { renderProfile, summariseProfile } from './cpuprofile.js';

interface ProfiledLoad {
  name: string;
  title: string;
  /** Runs before profiling, on an unprofiled regcache with the same data dir (e.g. a fill). */
  prepare?(target: Target): Promise<void>;
  run(target: Target): Promise<string>;
}

function loads(options: BenchOptions, tools: Tools, upstream: RunningRegistry, content: BenchContent): ProfiledLoad[] {
  const load = { connections: options.connections, durationS: options.durationS * 2 };
  return [
    {
      name: 'manifest-get',
      title: `cached manifest GET by digest, wrk -c${load.connections} -d${load.durationS}s`,
      run: async (target) => `${(await manifestGetByDigest(tools, target, content.small, load)).reqPerS.toFixed(0)} req/s`,
    },
    {
      name: 'head-tag',
      title: `HEAD manifest by tag within the TTL, ab -k -i -c${load.connections} -t${load.durationS}`,
      run: async (target) => `${(await headByTag(tools, upstream, target, content.small, load)).reqPerS.toFixed(0)} req/s`,
    },
    {
      name: 'warm-blob',
      title: `warm ${options.blobMiB} MiB blob, one client, 10 reads`,
      prepare: async (target) => expectBody('fill', await blobGet(`${target.url}${content.big.path}`), content.big.size),
      run: async (target) => {
        const url = `${target.url}${content.big.path}`;
        let seconds = 0;
        for (let i = 0; i < 10; i += 1) {
          const r = await blobGet(url);
          expectBody(`warm read ${i + 1}`, r, content.big.size);
          seconds += (r.endMs - r.startMs) / 1000;
        }
        return `${((10 * content.big.size) / 1024 ** 2 / seconds).toFixed(0)} MiB/s`;
      },
    },
    {
      name: 'cold-fill',
      title: `${options.coldClients} concurrent cold GETs of the ${options.blobMiB} MiB blob`,
      run: async (target) => {
        const result = await coldFill(upstream, target, content.big, options.coldClients);
        return `wall ${result.wallS.toFixed(2)} s, upstream transfer ended at ${result.fillEndS?.toFixed(2) ?? '?'} s`;
      },
    },
    {
      name: 'cold-pull',
      title: 'cold skopeo pull of the 20-layer image',
      run: async (target) => `${(await skopeoColdPull(upstream, target, content.image)).seconds.toFixed(2)} s`,
    },
  ];
}

async function profileOne(load: ProfiledLoad, options: BenchOptions, tools: Tools, upstream: RunningRegistry, dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  log(`profile · ${load.title}`);
  const dataDir = await tempDir('bench-profile-data');
  const base = { upstream, tools, serverMain: options.serverMain, dataDir };
  if (load.prepare !== undefined) {
    const unprofiled = await startRegcache(base);
    try {
      await load.prepare(unprofiled);
    } finally {
      await unprofiled.stop();
    }
  }
  const target = await startRegcache({ ...base, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
  let figure: string;
  try {
    figure = await load.run(target);
  } finally {
    await target.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile written in ${dir} (did regcache exit cleanly on SIGTERM?)`);
  return renderProfile(`${load.title} — ${figure} (${join(dir, file)})`, await summariseProfile(join(dir, file)));
}

export async function runProfile(options: BenchOptions, tools: Tools): Promise<void> {
  const outDir = join(options.outDir, 'profiles');
  const upstream = await startRegistry({ deleteEnabled: false });
  try {
    const content = await seedUpstream(upstream, options.blobMiB);
    const sections: string[] = [];
    for (const load of loads(options, tools, upstream, content)) {
      sections.push(await profileOne(load, options, tools, upstream, join(outDir, load.name)));
    }
    const markdown = `${sections.join('\n')}\n`;
    process.stdout.write(`\n${markdown}`);
    await writeFile(join(outDir, 'summary.md'), markdown);
    log(`wrote ${join(outDir, 'summary.md')}`);
  } finally {
    await upstream.stop();
  }
}
