/**
 * What a cut during the graceful shutdown leaves behind, on the server as shipped (a plain
 * listener: the main thread's raw front and a front thread take every connection first, and
 * blobs go out by sendfile): a cached blob held by a client that reads nothing is in flight
 * when the drain begins. A second signal, or `limits.shutdownTimeout`, cuts it — the warn line
 * counts that one connection (node's own count, `server.getConnections()`, said 0: the fronts
 * hand connections over), the cut request still gets its request line, the exit code is 0 and
 * the store was closed, not abandoned: the counters batched since the start are on disk. A
 * SIGHUP drains as SIGTERM does and removes the admin socket.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlobStore } from '@regcache/blob-store';
import { hashedGet, pushBlob, startRegistry, tempDir, type Hashed, type RunningRegistry } from '@regcache/testkit';
import { runServer, type ServerProcess } from '../spawn.js';
import { writeConfig } from './config-file.js';
import { adminCall } from './secrets-fixture.js';

const MiB = 1024 * 1024;
type Line = Record<string, unknown>;

interface Started {
  readonly server: ServerProcess;
  readonly data: string;
  /** The held pull: a client that reads nothing for `holdMs`, then the rest. */
  readonly pull: Promise<Hashed>;
}

describe('a cut during the shutdown', () => {
  let upstream: RunningRegistry;
  let digest: string;
  // Far more than the socket buffers take: the held pull is still being sent when the drain begins.
  const size = 32 * MiB;

  beforeAll(async () => {
    upstream = await startRegistry();
    digest = await pushBlob(upstream, 'cut/blobs', randomBytes(size));
  }, 60_000);
  afterAll(async () => {
    await upstream?.stop();
  });

  /** A server with the blob cached (one pull: a miss), and a second pull of it (a hit) held by its client. */
  async function startWithHeldPull(shutdownTimeout: string, holdMs: number): Promise<Started> {
    const data = await tempDir('shutdown-cut');
    const config = await writeConfig({ listen: '127.0.0.1:0', storage: { path: data }, upstreams: [{ name: 'docker.io', url: upstream.url }], limits: { shutdownTimeout } });
    const server = await runServer(['--config', config]);
    const url = `http://${server.address}/v2/cut/blobs/blobs/${digest}`;
    expect((await hashedGet(url)).digest).toBe(digest);
    // The miss's client has every byte before its fill has committed (fsync, rename, index): under
    // load the next pull could still find it uncommitted, a second miss. Stored first, then the hit.
    const storedBlobs = async (): Promise<number> => {
      const answer = await adminCall(join(data, 'admin.sock'), 'GET', '/stats');
      return (JSON.parse(answer.slice(answer.indexOf('\n') + 1)) as { blobs: number }).blobs;
    };
    await expect.poll(storedBlobs, { timeout: 10_000 }).toBe(1);
    const pull = hashedGet(url, { holdMs });
    // The hit's head is out (its request line says 'hit' only at its end): its body is on its way.
    await sleep(300);
    return { server, data, pull };
  }

  /** Sends `signals` in turn, each once the previous one's line is logged; the exit code. */
  async function signal(server: ServerProcess, ...signals: NodeJS.Signals[]): Promise<{ code: number | null; afterMs: number }> {
    const started = Date.now();
    const exited = once(server.child, 'exit') as Promise<[number | null]>;
    for (const [i, name] of signals.entries()) {
      if (i > 0) await expect.poll(() => server.lines.some((l) => String(l.msg).startsWith('shutting down')), { timeout: 5000 }).toBe(true);
      server.child.kill(name);
    }
    const [code] = await exited;
    return { code, afterMs: Date.now() - started };
  }

  /** A server that a failed test left running is killed (one that exited, by a signal too, is left). */
  async function stopIfRunning(server: ServerProcess): Promise<void> {
    if (server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
  }

  const cutLine = (lines: Line[]): Line | undefined => lines.find((l) => l.level === 40 && String(l.msg).includes('cutting'));
  const requestLines = (lines: Line[]): Line[] => lines.filter((l) => l.msg === 'request' && String(l.path).endsWith(digest));

  /** The counters the server had batched, read from its store after it exited: there only if it closed the store. */
  async function storedCounters(data: string): Promise<Record<string, number>> {
    const store = await createBlobStore({ root: data });
    try {
      return await store.counters();
    } finally {
      await store.close();
    }
  }

  it.each([
    ['SIGTERM', 'SIGINT'],
    ['SIGINT', 'SIGINT'],
  ] as const)('%s then %s: the second cuts the held pull at once, counts it, logs its request, exits 0 with the store closed', async (first, second) => {
    const { server, data, pull } = await startWithHeldPull('20s', 2500);
    try {
      const { code, afterMs } = await signal(server, first, second);
      expect(code).toBe(0);
      expect(afterMs).toBeLessThan(3000);
      expect((await pull).broken).toBe(true);
      expect(cutLine(server.lines)).toMatchObject({ connections: 1 });
      expect(String(cutLine(server.lines)?.msg)).toContain(second);
      // The miss, then the hit that was cut.
      expect(requestLines(server.lines).map((l) => [l.cache, l.aborted])).toEqual([['miss', false], ['hit', true]]);
      expect(await storedCounters(data)).toMatchObject({ misses: 1, hits: 1 });
    } finally {
      await stopIfRunning(server);
    }
  }, 30_000);

  it('limits.shutdownTimeout cuts the held pull: counted, its request logged, exit 0', async () => {
    const { server, data, pull } = await startWithHeldPull('1s', 2500);
    try {
      const { code, afterMs } = await signal(server, 'SIGTERM');
      expect(code).toBe(0);
      expect(afterMs).toBeGreaterThanOrEqual(1000);
      expect(afterMs).toBeLessThan(3000);
      expect((await pull).broken).toBe(true);
      expect(cutLine(server.lines)).toMatchObject({ connections: 1 });
      expect(String(cutLine(server.lines)?.msg)).toContain('shutdownTimeout');
      expect(requestLines(server.lines).map((l) => [l.cache, l.aborted])).toEqual([['miss', false], ['hit', true]]);
      expect(await storedCounters(data)).toMatchObject({ misses: 1, hits: 1 });
    } finally {
      await stopIfRunning(server);
    }
  }, 30_000);

  it('SIGHUP drains as SIGTERM does: the held pull arrives whole, exit 0, the line names SIGHUP, the admin socket is gone', async () => {
    const { server, data, pull } = await startWithHeldPull('20s', 1000);
    try {
      const adminSocket = join(data, 'admin.sock');
      expect(existsSync(adminSocket)).toBe(true);
      const { code } = await signal(server, 'SIGHUP');
      expect(code).toBe(0);
      expect(await pull).toMatchObject({ digest, broken: false });
      const line = server.lines.find((l) => l.signal === 'SIGHUP');
      expect(String(line?.msg)).toMatch(/does not reload/);
      expect(cutLine(server.lines)).toBeUndefined();
      expect(existsSync(adminSocket)).toBe(false);
      expect(await storedCounters(data)).toMatchObject({ misses: 1, hits: 1 });
    } finally {
      await stopIfRunning(server);
    }
  }, 30_000);
});
