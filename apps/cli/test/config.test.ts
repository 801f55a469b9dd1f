/**
 * regcache-admin reading the server's config: a store budget without its unit is refused
 * (`maxSize: 1000` was 1000 bytes: `stats` showed the store far over it, and eviction emptied
 * it); a relative storage.path is the config file's directory's, from whatever directory the
 * CLI runs in (it opened `./data` of the working directory: "no regcache store", or with warm a
 * second store); REGCACHE_DATA naming another store than the --config file's is refused, as
 * --data with --config is; and an empty config file is refused naming it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBlobStore } from '@regcache/blob-store';
import { tempDir } from '@regcache/testkit';
import { runCli } from './helpers.js';

/** A config directory whose regcache.yaml says `yaml`, with an empty store at `<dir>/data`. */
async function configWithStore(yaml: string): Promise<{ dir: string; path: string }> {
  const dir = await tempDir('cli-cfg');
  await (await createBlobStore({ root: join(dir, 'data') })).close();
  const path = join(dir, 'regcache.yaml');
  await writeFile(path, yaml);
  return { dir, path };
}

const UPSTREAM = 'upstreams:\n  - name: docker.io\n    url: http://127.0.0.1:9\n';

describe('regcache-admin and the config file', () => {
  it('refuses a store budget without its unit, naming storage.maxSize (exit 2)', async () => {
    const { dir, path } = await configWithStore(`storage:\n  path: data\n  maxSize: 1000\n${UPSTREAM}`);
    const result = await runCli(['stats', '--config', path], {}, dir);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain('storage.maxSize: give a unit (e.g. 10GiB, 512MiB): is 1000 bytes, MiB or GiB?');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('finds a relative storage.path next to the config file, from another directory', async () => {
    const { path } = await configWithStore(`storage:\n  path: ./data\n  maxSize: 1GiB\n${UPSTREAM}`);
    const elsewhere = await tempDir('cli-cwd');
    const result = await runCli(['stats', '--config', path], {}, elsewhere);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/size on disk +0 B of 1\.0 GiB \(0\.0%\)/);
  });

  it('refuses REGCACHE_DATA naming another store than the --config file’s, and takes it otherwise', async () => {
    const { dir, path } = await configWithStore(`storage:\n  path: ./data\n${UPSTREAM}`);
    const other = await tempDir('cli-other');
    const refused = await runCli(['stats', '--config', path], { REGCACHE_DATA: other });
    expect(refused.code, refused.stdout).toBe(2);
    expect(refused.stderr).toContain(`REGCACHE_DATA (${other}) is another store than storage.path of ${path} (${join(dir, 'data')})`);
    // The same directory, or a file that leaves the store to the environment: no question which.
    expect((await runCli(['stats', '--config', path], { REGCACHE_DATA: join(dir, 'data') })).code).toBe(0);
    const envOnly = await configWithStore(UPSTREAM);
    expect((await runCli(['stats', '--config', envOnly.path], { REGCACHE_DATA: join(envOnly.dir, 'data') })).code).toBe(0);
  });

  it('refuses an empty config file, naming it', async () => {
    const dir = await tempDir('cli-empty');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'regcache.yaml'), '# nothing here yet\n');
    const result = await runCli(['stats', '--config', join(dir, 'regcache.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--config: ${join(dir, 'regcache.yaml')} holds no settings (it is empty, or only comments)`);
  });
});
