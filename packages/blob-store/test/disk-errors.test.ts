/**
 * A real write failure, without mocks: RLIMIT_FSIZE (set on this test process with
 * prlimit(1)) makes the kernel refuse to grow a file past the limit with EFBIG — the same
 * path as ENOSPC on a full disk. Node ignores SIGXFSZ, so the write fails instead of killing us.
 * The limit is per process, so this only runs in vitest's `forks` pool (the default), where
 * this file has its worker process to itself — never in a worker thread sharing a process.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { StoreWriteError, tempDir } from '../src/index.js';
import { blob, useFixtures } from './helpers.js';

const run = promisify(execFile);

async function withFileSizeLimit<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
  await run('prlimit', [`--pid=${process.pid}`, `--fsize=${bytes}:`]);
  try {
    return await fn();
  } finally {
    await run('prlimit', [`--pid=${process.pid}`, '--fsize=unlimited:']);
  }
}

describe('disk errors while writing', () => {
  const fx = useFixtures();

  it('runs in its own process (vitest forks pool), where prlimit can set its limit', () => {
    expect(isMainThread).toBe(true);
  });

  it('rejects with StoreWriteError carrying the system error, and cleans up', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(1024 * 1024);
    const writer = await store.beginWrite(digest, { expectedSize: bytes.length });
    const error = await withFileSizeLimit(256 * 1024, async () => {
      for (let off = 0; off < bytes.length; off += 64 * 1024) await writer.write(bytes.subarray(off, off + 64 * 1024));
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreWriteError);
    expect(error).toMatchObject({ code: 'STORE_WRITE', errno: 'EFBIG', path: writer.tempPath });
    expect((error as Error).cause).toMatchObject({ code: 'EFBIG' });
    await expect(writer.commit()).rejects.toBeInstanceOf(StoreWriteError);
    await writer.abort();
    expect(await readdir(tempDir(store.root))).toEqual([]);
    expect(await store.stat(digest)).toBeUndefined();
  });
});
