/**
 * A damaged upstream never puts a wrong byte on disk or a complete-looking wrong body on the
 * wire: through a fault-injecting proxy in front of a real registry, a blob cut short (with
 * its full Content-Length), with one byte flipped, stalled or reset mid-stream reaches the
 * client as a broken response, nothing is stored, and the next pull from a healthy upstream
 * succeeds. A failing disk (RLIMIT_FSIZE, set with prlimit on this process) still gets the
 * client its bytes, stores nothing, and keeps cached content served.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { pushBlob, type Fault } from '@regcache/testkit';
import type { Digest } from '@regcache/registry-protocol';
import { expectStored, useProxiedCache } from './helpers.js';
import { getBlob, looksComplete, randomBlob } from './fill-helpers.js';

const MiB = 1024 * 1024;
const run = promisify(execFile);

describe('faults from the upstream and the disk', () => {
  const fx = useProxiedCache({
    upstreams: [{ name: 'docker.io', url: '', timeouts: { body: '1s' } }],
    fill: { idleTimeout: '1s' },
  });

  const faults: Array<[string, Fault]> = [
    ['truncated with a full Content-Length', { kind: 'truncate' }],
    ['one byte flipped', { kind: 'corrupt' }],
    ['one byte flipped in the last chunk', { kind: 'corrupt', at: 4 * MiB - 1 }],
    ['stalled mid-stream', { kind: 'stall' }],
    ['reset mid-stream', { kind: 'reset' }],
  ];

  it.each(faults)('%s: the client sees an error, nothing is stored, the next pull succeeds', async (_name, fault) => {
    const { upstream, proxy, cache } = fx();
    const blob = randomBlob(4 * MiB);
    const repo = `faults/${fault.kind}${'at' in fault ? 'end' : ''}`;
    await pushBlob(upstream, repo, blob.bytes);
    const url = `${cache.url}/v2/${repo}/blobs/${blob.digest}`;
    proxy.setFault(fault);
    const damaged = await Promise.all([getBlob(url), getBlob(url)]);
    proxy.setFault({ kind: 'none' });
    for (const r of damaged) {
      // Never a complete-looking wrong body: either broken off, or (had it completed) correct.
      expect(looksComplete(r) ? r.digest : 'broken').toBe(looksComplete(r) ? blob.digest : 'broken');
      expect(r.broken || r.status >= 400 || r.bytes < 4 * MiB).toBe(true);
    }
    expect(await cache.cache.store.stat(blob.digest as Digest)).toBeUndefined();
    await expect.poll(() => readdir(join(cache.dataDir, 'tmp')), { timeout: 5000 }).toEqual([]);
    const healthy = await getBlob(url);
    expect(looksComplete(healthy)).toBe(true);
    expect(healthy.digest).toBe(blob.digest);
    await expectStored(cache, blob.digest);
  }, 30_000);

  it('counts a corrupt upstream body as an upstream error', () => {
    const { cache } = fx();
    expect(cache.cache.stats.snapshot().upstreamErrors ?? 0).toBeGreaterThanOrEqual(2);
    expect(cache.cache.stats.snapshot().fillFailures ?? 0).toBeGreaterThanOrEqual(5);
  });

  it('passes bytes through when the disk fails mid-fill, keeps nothing, and keeps serving the cache', async () => {
    const { upstream, cache } = fx();
    const cached = randomBlob(1 * MiB);
    await pushBlob(upstream, 'faults/disk', cached.bytes);
    const cachedUrl = `${cache.url}/v2/faults/disk/blobs/${cached.digest}`;
    expect((await getBlob(cachedUrl)).digest).toBe(cached.digest);
    const blob = randomBlob(24 * MiB);
    await pushBlob(upstream, 'faults/disk', blob.bytes);
    await run('prlimit', [`--pid=${process.pid}`, `--fsize=${8 * MiB}:`]);
    let through;
    try {
      through = await getBlob(`${cache.url}/v2/faults/disk/blobs/${blob.digest}`);
    } finally {
      await run('prlimit', [`--pid=${process.pid}`, '--fsize=unlimited:']);
    }
    expect(looksComplete(through)).toBe(true);
    expect(through.digest).toBe(blob.digest);
    expect(await cache.cache.store.stat(blob.digest as Digest)).toBeUndefined();
    expect(cache.cache.stats.snapshot().diskErrors).toBe(1);
    expect(await readdir(join(cache.dataDir, 'tmp'))).toEqual([]);
    expect((await getBlob(cachedUrl)).digest).toBe(cached.digest);
    // Space is back: the next pull fills and stores it.
    expect((await getBlob(`${cache.url}/v2/faults/disk/blobs/${blob.digest}`)).digest).toBe(blob.digest);
    await expectStored(cache, blob.digest);
  }, 60_000);

  it('relays a blob when no temp file can be created, and still never serves a wrong one complete-looking', async () => {
    const { upstream, proxy, cache } = fx();
    const tmp = join(cache.dataDir, 'tmp');
    const blobs = [randomBlob(4 * MiB), randomBlob(4 * MiB + 1)];
    for (const blob of blobs) await pushBlob(upstream, 'faults/notemp', blob.bytes);
    const url = (digest: string): string => `${cache.url}/v2/faults/notemp/blobs/${digest}`;
    const errors = cache.cache.stats.snapshot().upstreamErrors ?? 0;
    // tmp/ replaced by a file: every temp file's open fails (ENOTDIR), as on a filesystem gone read-only.
    await rm(tmp, { recursive: true });
    await writeFile(tmp, '');
    try {
      const good = await getBlob(url(blobs[0]!.digest));
      expect(looksComplete(good) && good.digest).toBe(blobs[0]!.digest);
      expect(good.headers['x-regcache-cache']).toBe('miss');
      for (const fault of [{ kind: 'corrupt', at: 4 * MiB } as const, { kind: 'truncate' } as const]) {
        proxy.setFault(fault);
        const damaged = await getBlob(url(blobs[1]!.digest));
        proxy.setFault({ kind: 'none' });
        expect(looksComplete(damaged) ? damaged.digest : 'broken').toBe('broken');
      }
      // The flipped byte is a wrong blob (an upstream error); the cut one, a broken transfer.
      expect(cache.cache.stats.snapshot().upstreamErrors ?? 0).toBe(errors + 1);
    } finally {
      await rm(tmp);
      await mkdir(tmp);
    }
    for (const blob of blobs) expect(await cache.cache.store.stat(blob.digest as Digest)).toBeUndefined();
    expect((await getBlob(url(blobs[1]!.digest))).digest).toBe(blobs[1]!.digest);
    await expectStored(cache, blobs[1]!.digest);
  }, 60_000);

  it('a client that leaves a relay before the upstream answers it is an aborted request, not a 500', async () => {
    const { upstream, proxy, cache } = fx();
    const tmp = join(cache.dataDir, 'tmp');
    const blob = randomBlob(64 * 1024);
    await pushBlob(upstream, 'faults/leave', blob.bytes);
    const path = `/v2/faults/leave/blobs/${blob.digest}`;
    await rm(tmp, { recursive: true });
    await writeFile(tmp, '');
    // The fill's GET is answered (then its temp file fails); the relay's own GET, the second, hangs.
    proxy.setFault({ kind: 'hang' }, { match: /\/faults\/leave\//, skip: 1 });
    try {
      const leaving = new AbortController();
      const asked = fetch(`${cache.url}${path}`, { signal: leaving.signal }).catch(() => undefined);
      for (let i = 0; i < 100 && proxy.seen().filter((r) => r === `GET ${path}`).length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(proxy.seen().filter((r) => r === `GET ${path}`)).toHaveLength(2);
      leaving.abort();
      await asked;
      let line: Record<string, unknown> | undefined;
      for (let i = 0; i < 50 && line === undefined; i++) {
        line = cache.logs.find((l) => l.msg === 'request' && l.path === path);
        if (line === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(line, JSON.stringify(cache.logs.slice(-3))).toMatchObject({ aborted: true });
      expect(line?.status).not.toBe(500);
      expect(cache.logs.filter((l) => l.msg === 'unexpected error')).toEqual([]);
    } finally {
      proxy.setFault({ kind: 'none' });
      await rm(tmp);
      await mkdir(tmp);
    }
  }, 30_000);
});
