/**
 * The config file as the server and regcache-admin read it. A file that holds no settings is
 * refused naming it (it started regcache with every default and client auth off). Relative
 * paths in the file are relative to the file: `regcache-admin upstreams --config
 * /etc/regcache/config.yaml` run from another directory opened a second, empty store at
 * `./data` there. Paths from flags and the environment stay relative to the working directory.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_CA_PEM } from '@regcache/testkit';
import { loadConfig } from '../src/load-config.js';
import { loadIssues } from './config-helpers.js';

describe('a config file that holds no settings', () => {
  it.each([
    ['empty', ''],
    ['blank lines', '\n\n  \n'],
    ['only comments', '# regcache config\n# listen: 0.0.0.0:5000\n'],
    ['an empty YAML document', '---\n'],
  ])('is refused naming the file: %s', async (_what, text) => {
    const dir = await mkdtemp(join(tmpdir(), 'regcache-empty-'));
    const path = join(dir, 'regcache.yaml');
    await writeFile(path, text);
    expect(await loadIssues(loadConfig({ config: path }, {}))).toEqual([`--config: ${path} holds no settings (it is empty, or only comments): write {} to run with every default`]);
  });

  it('is taken when it says {} (every default, on purpose)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'regcache-empty-'));
    await writeFile(join(dir, 'defaults.yaml'), '{}\n');
    expect((await loadConfig({ config: join(dir, 'defaults.yaml') }, {})).listen).toBe('0.0.0.0:5000');
  });
});

describe('relative paths in a config file', () => {
  /** A config directory holding every file a config can name, by relative paths. */
  async function configDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'regcache-rel-'));
    await mkdir(join(dir, 'secrets'));
    await writeFile(join(dir, 'secrets', 'pw'), 'file-password\n');
    await writeFile(join(dir, 'secrets', 'token'), 'mirror-token\n');
    await writeFile(join(dir, 'secrets', 'tokens'), 'client-token\n');
    await writeFile(join(dir, 'ca.pem'), TEST_CA_PEM);
    const yaml = [
      'storage:\n  path: ./data',
      'auth:\n  htpasswd: htpasswd\n  tokensFile: secrets/tokens',
      'tls:\n  cert: tls/cert.pem\n  key: ./tls/key.pem',
      'admin:\n  listen: unix:run/admin.sock',
      'upstreams:\n  - name: registry.internal\n    url: https://registry.internal\n    caFile: ca.pem\n    username: me\n    passwordFile: secrets/pw',
      '    mirrors:\n      - url: https://mirror.internal\n        tokenFile: ./secrets/token\n        caFile: ./ca.pem',
    ].join('\n');
    await writeFile(join(dir, 'regcache.yaml'), `${yaml}\n`);
    return dir;
  }

  it('resolve against the directory of the file, not the working directory', async () => {
    const dir = await configDir();
    expect(process.cwd()).not.toBe(dir);
    const config = await loadConfig({ config: join(dir, 'regcache.yaml') }, {});
    expect(config.storage.path).toBe(join(dir, 'data'));
    expect(config.auth.htpasswd).toBe(join(dir, 'htpasswd'));
    expect(config.auth.tokens.map((t) => t.reveal())).toEqual(['client-token']);
    expect(config.tls).toEqual({ cert: join(dir, 'tls/cert.pem'), key: join(dir, 'tls/key.pem') });
    expect(config.admin.listen).toBe(`unix:${join(dir, 'run/admin.sock')}`);
    const upstream = config.upstreams[0];
    expect(upstream?.password?.reveal()).toBe('file-password');
    expect(upstream?.ca).toBe(TEST_CA_PEM.replace(/\r?\n$/, ''));
    expect(upstream?.mirrors[0]?.token?.reveal()).toBe('mirror-token');
    expect(upstream?.mirrors[0]?.ca).toBe(upstream?.ca);
  });

  it('name the resolved path when a file is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'regcache-rel-'));
    await writeFile(join(dir, 'regcache.yaml'), 'upstreams:\n  - name: a.io\n    url: https://a.io\n    caFile: certs/ca.pem\n');
    expect(await loadIssues(loadConfig({ config: join(dir, 'regcache.yaml') }, {}))).toEqual([`upstreams.0.caFile: cannot read ${join(dir, 'certs/ca.pem')}: ENOENT`]);
  });

  it('leave absolute paths and TCP addresses as they are', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'regcache-rel-'));
    await writeFile(join(dir, 'regcache.yaml'), 'storage:\n  path: /var/cache/regcache\nadmin:\n  listen: 127.0.0.1:5001\n');
    const config = await loadConfig({ config: join(dir, 'regcache.yaml') }, {});
    expect(config.storage.path).toBe('/var/cache/regcache');
    expect(config.admin.listen).toBe('127.0.0.1:5001');
  });

  it('from flags and the environment stay relative to the working directory', async () => {
    const dir = await configDir();
    const fromFlag = await loadConfig({ config: join(dir, 'regcache.yaml'), data: 'cache', adminListen: 'unix:admin.sock' }, { REGCACHE_AUTH_HTPASSWD: 'users' });
    expect(fromFlag.storage.path).toBe('cache');
    expect(fromFlag.admin.listen).toBe('unix:admin.sock');
    expect(fromFlag.auth.htpasswd).toBe('users');
    expect((await loadConfig({ config: join(dir, 'regcache.yaml') }, { REGCACHE_DATA: 'env-data' })).storage.path).toBe('env-data');
  });
});
