/**
 * regcache: the built server (apps/server/dist/main.js), run with the Node flags of its bin,
 * with an empty data directory (or a given one, kept, for profiling a warm cache), the upstream
 * as its default upstream, default settings (tag TTL 5m) and --log-level warn so per-request
 * log lines do not dominate (nginx's access log is off, distribution's too).
 */
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { freePort, shebangNodeFlags, tempDir } from '@regcache/testkit';
import { startServerProcess } from '../server-process.js';
import type { Target, TargetFactory } from './target.js';

/** blob-store's layout: `<root>/blobs/<alg>/<first two hex>/<hex>`. */
function blobPath(dataDir: string, digest: string): string {
  const [alg = 'sha256', hex = ''] = digest.split(':');
  return join(dataDir, 'blobs', alg, hex.slice(0, 2), hex);
}

/** The Node flags of the `regcache` bin (its shebang): the bench measures the server as shipped. */
async function launcherNodeFlags(serverMain: string): Promise<string[]> {
  return shebangNodeFlags(await readFile(join(dirname(dirname(serverMain)), 'bin', 'regcache.js'), 'utf8'));
}

export const startRegcache: TargetFactory = async ({ upstream, serverMain, nodeArgs = [], dataDir: keptDataDir }) => {
  const dir = keptDataDir === undefined ? await tempDir('bench-regcache') : undefined;
  const dataDir = keptDataDir ?? join(dir ?? '', 'data');
  const port = await freePort();
  const flags = await launcherNodeFlags(serverMain);
  const args = [...flags, ...nodeArgs, serverMain, '--listen', `127.0.0.1:${port}`, '--data', dataDir, '--upstream', upstream.url, '--log-level', 'warn'];
  const server = await startServerProcess({ name: 'regcache', command: process.execPath, args, port });
  const target: Target = {
    id: 'regcache',
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    pids: async () => [server.pid],
    committedBlobPath: (blob) => blobPath(dataDir, blob.digest),
    tail: () => server.tail(),
    async stop() {
      // SIGTERM: regcache finishes in-flight requests, closes its store and exits (writing a --cpu-prof profile).
      await server.stop(30_000);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
  return target;
};
