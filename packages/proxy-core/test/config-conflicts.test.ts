/**
 * Settings that contradict each other are refused at load, naming the keys, where one of them
 * used to win without a word: an upstream's `ca` with `caFile`; more than one of `password`,
 * `passwordFile`, `token`, `tokenFile`; a `hosts` entry on two upstreams (the last won); two
 * upstream names with one environment prefix while a credential is set under it (both got it);
 * and `admin.listen` on the registry's own listener (EADDRINUSE, exit 1, at start). An error
 * about a value from the environment or a flag names that source too.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_CA_PEM } from '@regcache/testkit';
import { ConfigError, parseConfig } from '../src/index.js';
import { loadConfig } from '../src/load-config.js';

async function file(name: string, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'regcache-conflict-'));
  await writeFile(join(dir, 'ca.pem'), TEST_CA_PEM);
  await writeFile(join(dir, 'secret'), 'from-a-file\n');
  await writeFile(join(dir, name), content);
  return join(dir, name);
}

async function errorOf(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const lines = async (promise: Promise<unknown>): Promise<string[]> => (await errorOf(promise)).message.split('\n').slice(1).map((l) => l.trim());
const upstreamYaml = (extra: string): string => `upstreams:\n  - name: registry.internal\n    url: https://registry.internal\n    username: me\n${extra}`;

describe('conflicting keys', () => {
  it.each([
    ['    ca: "-----BEGIN CERTIFICATE-----"\n    caFile: ca.pem\n', 'upstreams.0.caFile: ca is set too: give the CA certificates inline (ca) or from a file (caFile), not both'],
    ['    password: x\n    passwordFile: secret\n', 'upstreams.0: password and passwordFile are both set: give one — a password (password or passwordFile, with username) or a token (token or tokenFile)'],
    ['    password: x\n    passwordFile: secret\n    token: t\n', 'upstreams.0: password, passwordFile and token are all set: give one — a password (password or passwordFile, with username) or a token (token or tokenFile)'],
    ['    mirrors:\n      - url: https://m.internal\n        tokenFile: secret\n        passwordFile: secret\n', 'upstreams.0.mirrors.0: passwordFile and tokenFile are both set: give one — a password (password or passwordFile, with username) or a token (token or tokenFile)'],
  ])('refuses %j', async (extra, message) => {
    expect(await lines(loadConfig({ config: await file('c.yaml', upstreamYaml(extra)) }, {}))).toEqual([message]);
  });

  it('names a credential from the environment; one of the same kind replaces the file’s', async () => {
    const env = { REGCACHE_UPSTREAM_REGISTRY_INTERNAL_PASSWORD: 'from-env' };
    expect(await lines(loadConfig({ config: await file('c.yaml', upstreamYaml('    token: t\n')) }, env))).toEqual([
      'upstreams.0: password (from REGCACHE_UPSTREAM_REGISTRY_INTERNAL_PASSWORD) and token are both set: give one — a password (password or passwordFile, with username) or a token (token or tokenFile)',
    ]);
    // Flags over environment over file: the environment's password, not the file's passwordFile.
    const config = await loadConfig({ config: await file('c.yaml', upstreamYaml('    passwordFile: secret\n')) }, env);
    expect(config.upstreams[0]?.password?.reveal()).toBe('from-env');
  });

  it('refuses a password with a token from an embedder too', () => {
    const input = { upstreams: [{ name: 'a.io', url: 'https://a.io', username: 'u', password: 'p', token: 't' }] };
    expect(() => parseConfig(input)).toThrow('upstreams.0.token: password and token are both set');
  });

  it('refuses a hosts entry listed by two upstreams, however it is written', async () => {
    const yaml = 'upstreams:\n  - name: ghcr.io\n    url: https://ghcr.io\n    hosts: [cache.internal, ghcr.internal]\n  - name: quay.io\n    url: https://quay.io\n    hosts: [quay.internal, Cache.Internal.]\n';
    expect(await lines(loadConfig({ config: await file('h.yaml', yaml) }, {}))).toEqual([
      'upstreams.1.hosts.1: "Cache.Internal." is listed in the hosts of upstreams.0 (ghcr.io) too: a request with this Host can go to one upstream only',
    ]);
  });
});

describe('two upstreams with one environment prefix', () => {
  const yaml = 'upstreams:\n  - name: registry.corp.io\n    url: https://registry.corp.io\n  - name: registry-corp.io\n    url: https://registry-corp.io\n';

  it('are refused when a credential is set under it, naming both and the prefix', async () => {
    const env = { REGCACHE_UPSTREAM_REGISTRY_CORP_IO_USERNAME: 'u', REGCACHE_UPSTREAM_REGISTRY_CORP_IO_PASSWORD: 'p' };
    const error = await errorOf(loadConfig({ config: await file('p.yaml', yaml) }, env));
    expect(error.issues).toEqual([
      {
        path: 'upstreams.1.name',
        source: 'REGCACHE_UPSTREAM_REGISTRY_CORP_IO_USERNAME, REGCACHE_UPSTREAM_REGISTRY_CORP_IO_PASSWORD',
        message:
          '"registry-corp.io" and "registry.corp.io" (upstreams.0) share the environment prefix REGCACHE_UPSTREAM_REGISTRY_CORP_IO_, and REGCACHE_UPSTREAM_REGISTRY_CORP_IO_USERNAME, REGCACHE_UPSTREAM_REGISTRY_CORP_IO_PASSWORD would go to both: give these upstreams\' credentials in the config file (username, passwordFile, tokenFile) instead',
      },
    ]);
  });

  it('are taken when nothing is set under it', async () => {
    const config = await loadConfig({ config: await file('p.yaml', yaml) }, { REGCACHE_UPSTREAM_DOCKER_IO_TOKEN: 'elsewhere' });
    expect(config.upstreams.map((u) => u.token)).toEqual([undefined, undefined]);
  });
});

describe('admin.listen and listen', () => {
  it.each([
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['0.0.0.0:5000', '127.0.0.1:5000'],
    ['[::]:5000', 'localhost:5000'],
    ['[::1]:5000', '[::1]:5000'],
    ['localhost:5000', 'localhost:5000'],
  ])('refuses listen %s with admin.listen %s, naming both', (listen, admin) => {
    expect(() => parseConfig({ listen, admin: { listen: admin } })).toThrow(
      `admin.listen: "${admin}" is where listen ("${listen}") is: the registry and the admin API each need their own listener`,
    );
  });

  it.each([
    ['127.0.0.1:0', '127.0.0.1:0'],
    ['0.0.0.0:5000', '127.0.0.1:5001'],
    ['0.0.0.0:5000', '[::1]:5000'],
    ['127.0.0.2:5000', '127.0.0.1:5000'],
    ['0.0.0.0:5000', 'unix:/run/regcache/admin.sock'],
  ])('takes listen %s with admin.listen %s', (listen, admin) => {
    expect(parseConfig({ listen, admin: { listen: admin } }).admin.listen).toBe(admin);
  });
});

describe('a bad value from the environment or a flag', () => {
  it.each<[string, Record<string, string>, Record<string, string>, string]>([
    ['--listen', { listen: 'nonsense' }, {}, 'listen (from --listen): must be HOST:PORT'],
    ['REGCACHE_LISTEN', {}, { REGCACHE_LISTEN: '127.0.0.1:99999' }, 'listen (from REGCACHE_LISTEN): the port must be at most 65535'],
    ['--upstream', { upstream: 'ftp://x' }, {}, 'upstreams.0.url (from --upstream): must be an http:// or https:// URL'],
    ['REGCACHE_LOG_LEVEL', {}, { REGCACHE_LOG_LEVEL: 'loud' }, 'log.level (from REGCACHE_LOG_LEVEL): '],
    ['--log-level', { logLevel: 'loud' }, { REGCACHE_LOG_LEVEL: 'debug' }, 'log.level (from --log-level): '],
    ['--admin-listen', { adminListen: '0.0.0.0:5001' }, {}, 'admin.listen (from --admin-listen): the admin API listens only on a unix socket or a loopback address'],
    ['--data', { data: '' }, {}, 'storage.path (from --data): '],
    ['HTTPS_PROXY', {}, { HTTPS_PROXY: 'socks5://proxy:1080' }, 'upstreams.0.proxy (from HTTPS_PROXY): must be an http:// URL'],
  ])('names %s as well as the key', async (_source, flags, env, line) => {
    const error = await errorOf(loadConfig(flags, env));
    expect(error.message.split('\n')[1]?.trim().startsWith(line), error.message).toBe(true);
  });

  it('names the key alone for a value from the file', async () => {
    const error = await errorOf(loadConfig({ config: await file('l.yaml', 'listen: nonsense\n') }, {}));
    expect(error.issues).toEqual([{ path: 'listen', message: 'must be HOST:PORT, e.g. 0.0.0.0:5000' }]);
  });
});
