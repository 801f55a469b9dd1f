/**
 * Baseline 2: Debian's nginx as a caching reverse proxy (config in nginx-config.ts), in the
 * foreground (`daemon off`) with a master and one worker per core, its own prefix, pid file and
 * error log under a fresh temp dir — a fresh, empty cache on every start. Stopping sends SIGTERM
 * to the master (which stops the workers); if the bench dies instead, the workers are SIGKILLed
 * too, since a SIGKILLed master would leave them running.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, onProcessExit, tempDir } from '@regcache/testkit';
import type { BenchBlob } from '../content.js';
import { childPids, childPidsSync } from '../measure/rss.js';
import { startServerProcess } from '../server-process.js';
import { nginxConfig } from './nginx-config.js';
import type { Target, TargetFactory } from './target.js';

/**
 * The cache file of a blob: md5 of its cache key (`$uri`) under levels=1:2 — written as a temp
 * file in the same directory (use_temp_path=off) and renamed to this name when complete.
 */
function cacheFile(dir: string, blob: BenchBlob): string {
  const md5 = createHash('md5').update(blob.path).digest('hex');
  return join(dir, 'cache', md5.slice(-1), md5.slice(-3, -1), md5);
}

/** SIGKILLs pid if it is still an nginx process (a pid seen earlier may have been reused since). */
function killNginxQuietly(pid: number): void {
  try {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nginx') process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export const startNginx: TargetFactory = async ({ upstream, tools }) => {
  const dir = await tempDir('bench-nginx');
  await mkdir(join(dir, 'cache'));
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const configPath = join(dir, 'nginx.conf');
  await writeFile(configPath, nginxConfig({ dir, port, upstreamHost: upstream.host, asRoot }));
  const server = await startServerProcess({ name: 'nginx', command: tools.nginx, args: ['-p', dir, '-e', join(dir, 'error.log'), '-c', configPath], port });
  // The master may already be SIGKILLed by testkit's hook when this one runs: kill the workers
  // seen so far as well as any it still has, then remove the dir (testkit's temp-dir hook ran
  // earlier, while they were still writing into it).
  const known = new Set(await childPids(server.pid));
  const children = async (): Promise<number[]> => {
    const now = await childPids(server.pid);
    now.forEach((pid) => known.add(pid));
    return now;
  };
  const unregister = onProcessExit(() => {
    new Set([...known, ...childPidsSync(server.pid)]).forEach(killNginxQuietly);
    rmSync(dir, { recursive: true, force: true });
  });
  const target: Target = {
    id: 'nginx',
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    pids: async () => [server.pid, ...(await children())],
    committedBlobPath: (blob) => cacheFile(dir, blob),
    tail: () => server.tail(),
    async stop() {
      await server.stop(); // SIGTERM: the master stops its workers, then exits
      unregister();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return target;
};
