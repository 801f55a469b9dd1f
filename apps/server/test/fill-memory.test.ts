/**
 * Memory stays flat while many clients follow one fill: 20 clients stream an uncached
 * 256 MiB blob from the real server process during its fill. Peak RSS (VmHWM from
 * /proc/<pid>/status) is compared with the idle server's; the fill must not buffer the blob
 * or a chunk queue per client in memory.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { pushBlob, startRegistry, tempDir, type RunningRegistry } from '@regcache/testkit';
import { runServer } from './spawn.js';

const MiB = 1024 * 1024;

async function memory(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

async function drain(url: string): Promise<number> {
  const res = await request(url, { bodyTimeout: 120_000 });
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  return bytes;
}

describe('memory while 20 clients follow a 256 MiB fill', () => {
  let upstream: RunningRegistry;
  let digest: string;
  beforeAll(async () => {
    upstream = await startRegistry();
    digest = await pushBlob(upstream, 'mem/big', randomBytes(256 * MiB));
  }, 120_000);
  afterAll(async () => upstream?.stop());

  it('keeps peak RSS within 100 MiB of the idle server', async () => {
    const server = await runServer(['--listen', '127.0.0.1:0', '--data', await tempDir('regcache-mem-'), '--upstream', upstream.url]);
    try {
      const pid = server.child.pid as number;
      await drain(`http://${server.address}/v2/`);
      const idle = await memory(pid);
      const sizes = await Promise.all(Array.from({ length: 20 }, () => drain(`http://${server.address}/v2/mem/big/blobs/${digest}`)));
      expect(sizes).toEqual(Array.from({ length: 20 }, () => 256 * MiB));
      const peak = await memory(pid);
      console.log(`fill-memory: idle RSS ${idle.rss.toFixed(1)} MiB, peak RSS (VmHWM) ${peak.hwm.toFixed(1)} MiB with 20 clients on a 256 MiB fill`);
      expect(peak.hwm - idle.rss).toBeLessThan(100);
    } finally {
      await server.stop();
    }
  }, 180_000);
});
