/**
 * A data dir regcache cannot use stops it at start with one clear line and a non-zero exit —
 * never a stack trace, never a listener that fails on the first pull: a store on a tmpfs
 * remounted read-only, an empty read-only tmpfs, a data "dir" that is a file, and a store
 * another server holds.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountTmpfs, tempDir, type Tmpfs } from '@regcache/testkit';
import { runServer, runToExit } from '../spawn.js';

const UPSTREAM = 'http://127.0.0.1:9';

function expectCleanRefusal(result: { code: number | null; stdout: string; stderr: string }, reason: RegExp): void {
  expect(result.code).not.toBe(0);
  expect(result.code).not.toBeNull();
  expect(result.stderr).toMatch(reason);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(`${result.stdout}${result.stderr}`).not.toMatch(/^\s+at /m);
  expect(result.stdout).not.toContain('regcache listening');
}

describe('a data dir regcache cannot use', () => {
  let disk: Tmpfs;
  beforeAll(async () => {
    disk = await mountTmpfs(8, 'readonly-data');
  });
  afterAll(async () => {
    await disk?.unmount();
  });

  it('refuses a store on a filesystem remounted read-only', async () => {
    const data = join(disk.dir, 'data');
    const first = await runServer(['--listen', '127.0.0.1:0', '--data', data, '--upstream', UPSTREAM]);
    expect(await first.stop()).toBe(0);
    await disk.remount({ readOnly: true });
    try {
      const result = await runToExit(['--listen', '127.0.0.1:0', '--data', data, '--upstream', UPSTREAM]);
      expectCleanRefusal(result, /^regcache: cannot start: .*not writable \(EROFS\)/);
      expect(result.stderr).toContain(data);
    } finally {
      await disk.remount({ readOnly: false });
    }
  });

  it('refuses an empty read-only filesystem', async () => {
    const empty = await mountTmpfs(1, 'readonly-empty');
    try {
      await empty.remount({ readOnly: true });
      const result = await runToExit(['--listen', '127.0.0.1:0', '--data', join(empty.dir, 'data'), '--upstream', UPSTREAM]);
      // node's recursive mkdir says ENOENT there; the store asks a plain mkdir for the reason
      expectCleanRefusal(result, /^regcache: cannot start: .*cannot create directory \(EROFS\)/);
    } finally {
      await empty.unmount();
    }
  });

  it('refuses a data dir that is a file', async () => {
    const file = join(await tempDir('data-file'), 'data');
    await writeFile(file, 'not a directory');
    const result = await runToExit(['--listen', '127.0.0.1:0', '--data', file, '--upstream', UPSTREAM]);
    expectCleanRefusal(result, /^regcache: cannot start: .*cannot create directory/);
  });

  it('refuses a store another server holds', async () => {
    const data = await tempDir('held-data');
    const holder = await runServer(['--listen', '127.0.0.1:0', '--data', data, '--upstream', UPSTREAM]);
    try {
      const result = await runToExit(['--listen', '127.0.0.1:0', '--data', data, '--upstream', UPSTREAM]);
      expectCleanRefusal(result, /^regcache: cannot start: .*locked by another process/);
    } finally {
      expect(await holder.stop()).toBe(0);
    }
  });
});
