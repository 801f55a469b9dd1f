/**
 * The server refusing a bad configuration before it listens — exit 2, the key named, and the
 * env var or flag when the value came from one, never a stack trace: `listen` and
 * `admin.listen` on one address (it exited 1 with EADDRINUSE), an empty config file (it started
 * with every default and client auth off), a store budget of 0, a bad REGCACHE_LISTEN.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@regcache/testkit';
import { runToExit } from './spawn.js';

/** A loopback port free a moment ago. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function expectRefused(result: { code: number | null; stdout: string; stderr: string }, line: string): Promise<void> {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toContain(line);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stdout).not.toContain('regcache listening');
}

describe('the server refuses bad configuration with exit code 2', () => {
  it('listen and admin.listen on one address, naming both', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const result = await runToExit(['--listen', address, '--admin-listen', address, '--data', await tempDir('regcache-same-')]);
    await expectRefused(result, `admin.listen (from --admin-listen): "${address}" is where listen ("${address}") is`);
  });

  it('an empty config file, naming it', async () => {
    const dir = await tempDir('regcache-empty-');
    const path = join(dir, 'regcache.yaml');
    await writeFile(path, '# to be written\n');
    await expectRefused(await runToExit(['--config', path, '--listen', '127.0.0.1:0']), `--config: ${path} holds no settings`);
  });

  it('a store budget of 0, naming storage.maxSize', async () => {
    const dir = await tempDir('regcache-zero-');
    const path = join(dir, 'regcache.yaml');
    await writeFile(path, 'listen: 127.0.0.1:0\nstorage:\n  path: data\n  maxSize: 0\n');
    await expectRefused(await runToExit(['--config', path]), 'storage.maxSize: must be more than 0');
  });

  it('a bad value from the environment, naming the variable', async () => {
    const result = await runToExit(['--data', await tempDir('regcache-env-')], { REGCACHE_LISTEN: '127.0.0.1:99999' });
    await expectRefused(result, 'listen (from REGCACHE_LISTEN): the port must be at most 65535');
  });
});
