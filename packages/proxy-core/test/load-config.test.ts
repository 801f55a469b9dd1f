import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TEST_CA_PEM } from '@regcache/testkit';
import { loadConfig } from '../src/load-config.js';
import { configFile, loadIssues } from './config-helpers.js';

describe('loadConfig', () => {
  it('defaults to Docker Hub, ./data and port 5000', async () => {
    const config = await loadConfig({}, {});
    expect(config.listen).toBe('0.0.0.0:5000');
    expect(config.storage.path).toBe('./data');
    expect(config.upstreams).toEqual([expect.objectContaining({ name: 'docker.io', url: 'https://registry-1.docker.io' })]);
    expect(Object.isFrozen(config.upstreams[0])).toBe(true);
    expect(config.log).toEqual({ level: 'info', maxBuffer: 8 * 1024 ** 2 });
  });

  it('reads YAML, then env, then flags, in that precedence', async () => {
    const path = await configFile('c.yaml', 'listen: 127.0.0.1:6000\nstorage:\n  path: /tmp/a\nupstreams:\n  - name: ghcr.io\n    url: https://ghcr.io\n    tagTtl: 90s\n');
    const config = await loadConfig({ config: path, data: '/tmp/b' }, { REGCACHE_LISTEN: '127.0.0.1:7000' });
    expect(config.listen).toBe('127.0.0.1:7000');
    expect(config.storage.path).toBe('/tmp/b');
    expect(config.upstreams[0]?.tagTtl).toBe(90_000);
  });

  it('reads JSON too, and --upstream replaces the default upstream URL', async () => {
    const path = await configFile('c.json', JSON.stringify({ upstreams: [{ name: 'docker.io', url: 'https://registry-1.docker.io' }] }));
    const config = await loadConfig({ config: path, upstream: 'http://127.0.0.1:5999' }, {});
    expect(config.upstreams[0]?.url).toBe('http://127.0.0.1:5999');
  });

  it('takes secrets from env and files, and never prints them', async () => {
    const secretFile = await configFile('pw', 'from-a-file\n');
    const path = await configFile('c.yaml', `upstreams:\n  - name: ghcr.io\n    url: https://ghcr.io\n    username: me\n    passwordFile: ${secretFile}\n  - name: docker.io\n    url: https://registry-1.docker.io\n    username: hub\n`);
    const config = await loadConfig({ config: path }, { REGCACHE_UPSTREAM_DOCKER_IO_PASSWORD: 'from-env' });
    expect(config.upstreams[0]?.password?.reveal()).toBe('from-a-file');
    expect(config.upstreams[1]?.password?.reveal()).toBe('from-env');
    const printed = JSON.stringify(config) + inspect(config, { depth: 10 }) + String(config.upstreams[1]?.password);
    expect(printed).not.toContain('from-a-file');
    expect(printed).not.toContain('from-env');
  });

  it('takes an upstream URL at the registry root, with or without a pasted /v2/', async () => {
    for (const url of ['https://a.io', 'https://a.io/', 'https://a.io/v2', 'https://a.io/v2/']) {
      const config = await loadConfig({ config: await configFile('root.yaml', `upstreams:\n  - name: a.io\n    url: ${url}\n`) }, {});
      expect(config.upstreams[0]?.url).toBe(url);
    }
  });

  it.each([
    ['listen: nonsense\n', 'listen'],
    ['upstreams:\n  - name: docker.io\n    url: ftp://x\n', 'upstreams.0.url'],
    // A path was silently dropped: every request went to the host's /v2/, not under the path.
    ['upstreams:\n  - name: a.io\n    url: https://a.io/artifactory/api/docker/remote\n', 'upstreams.0.url'],
    ['upstreams:\n  - name: a.io\n    url: https://a.io/?ns=x\n', 'upstreams.0.url'],
    ['upstreams:\n  - name: a.io\n    url: https://a.io\n    mirrors: [{ url: "https://m.io/cache" }]\n', 'upstreams.0.mirrors.0.url'],
    ['upstreams:\n  - name: "Bad Name"\n    url: https://x.io\n', 'upstreams.0.name'],
    ['upstreams:\n  - name: a.io\n    url: https://a.io\n    tagTtl: soon\n', 'upstreams.0.tagTtl'],
    ['storage:\n  maxSize: lots\n', 'storage.maxSize'],
    ['log:\n  maxBuffer: 1KiB\n', 'log.maxBuffer'],
    ['upstreams: []\n', 'upstreams'],
    ['bogus: 1\n', '(root)'],
    ['upstreams:\n  - name: a.io\n    url: https://a.io\n    password: x\n', 'upstreams.0.username'],
    ['upstreams:\n  - name: a.io\n    url: https://a.io\n    mirrors: [{ url: "ftp://m" }]\n', 'upstreams.0.mirrors.0.url'],
    ['upstreams:\n  - name: a.io\n    url: https://a.io\n    mirrors: [{ url: "https://m.io", password: x }]\n', 'upstreams.0.mirrors.0.username'],
    ['upstreams:\n  - name: a.io\n    url: https://a.io\n    mirrors: [{ url: "http://m.io", ca: x }]\n', 'upstreams.0.mirrors.0.ca'],
    ['upstreams:\n  - name: a.io\n    url: https://a.io\n    mirrors: [https://m.io]\n', 'upstreams.0.mirrors.0'],
  ])('reports the key path of a bad value: %j', async (yaml, key) => {
    const issues = await loadIssues(loadConfig({ config: await configFile('bad.yaml', yaml) }, {}));
    expect(issues.join('\n')).toContain(key === '(root)' ? '' : `${key}:`);
    expect(issues.length).toBeGreaterThan(0);
  });

  it('reads repository patterns, and names the key of a bad one with its reason', async () => {
    const upstream = (extra: string): Promise<string> => configFile('r.yaml', `upstreams:\n  - name: docker.io\n    url: https://registry-1.docker.io\n    repositories:\n${extra}`);
    const config = await loadConfig({ config: await upstream('      allow: ["*", "myorg/**"]\n      deny: [myorg/secret-*]\n') }, {});
    expect(config.upstreams[0]?.repositories).toEqual({ allow: ['*', 'myorg/**'], deny: ['myorg/secret-*'] });
    expect(await loadIssues(loadConfig({ config: await upstream('      allow: [library/*, Bad/Name]\n') }, {}))).toEqual([
      'upstreams.0.repositories.allow.1: invalid repository pattern "Bad/Name": "Bad" is not a name component (lower-case letters, digits, . _ -, and * as a wildcard)',
    ]);
    expect(await loadIssues(loadConfig({ config: await upstream('      deny: ["a/**b"]\n') }, {}))).toEqual([
      'upstreams.0.repositories.deny.0: invalid repository pattern "a/**b": ** must be a whole component (a/**/b)',
    ]);
    expect(await loadIssues(loadConfig({ config: await upstream('      allow: []\n') }, {}))).toEqual([
      'upstreams.0.repositories.allow: list at least one pattern, or leave allow out to allow every repository',
    ]);
    expect((await loadIssues(loadConfig({ config: await upstream('      alow: [x]\n') }, {})))[0]).toMatch(/^upstreams\.0\.repositories: .*alow/);
  });

  it("reads an upstream's CA from caFile, and names the key when the CA is unusable", async () => {
    const ca = await configFile('ca.pem', TEST_CA_PEM);
    const upstream = (extra: string): Promise<string> => configFile('c.yaml', `upstreams:\n  - name: registry.internal\n    url: https://registry.internal\n${extra}`);
    const config = await loadConfig({ config: await upstream(`    caFile: ${ca}\n`) }, {});
    expect(config.upstreams[0]?.ca).toBe(TEST_CA_PEM.replace(/\r?\n$/, ''));
    expect(await loadIssues(loadConfig({ config: await upstream('    caFile: /nonexistent/ca.pem\n') }, {}))).toEqual(['upstreams.0.caFile: cannot read /nonexistent/ca.pem: ENOENT']);
    expect(await loadIssues(loadConfig({ config: await upstream('    ca: not a certificate\n') }, {}))).toEqual(['upstreams.0.ca: must hold PEM certificates (-----BEGIN CERTIFICATE-----)']);
    const garbled = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----';
    expect((await loadIssues(loadConfig({ config: await configFile('g.json', JSON.stringify({ upstreams: [{ name: 'r.internal', url: 'https://r.internal', ca: garbled }] })) }, {})))[0]).toMatch(/^upstreams\.0\.ca: not usable as a CA: /);
    const mirrored = (extra: string): Promise<string> => configFile('m.yaml', `upstreams:\n  - name: docker.io\n    url: https://registry-1.docker.io\n    mirrors:\n      - url: https://registry.internal\n${extra}`);
    expect((await loadConfig({ config: await mirrored(`        caFile: ${ca}\n`) }, {})).upstreams[0]?.mirrors[0]?.ca).toBe(TEST_CA_PEM.replace(/\r?\n$/, ''));
    expect(await loadIssues(loadConfig({ config: await mirrored('        caFile: /nonexistent/ca.pem\n') }, {}))).toEqual(['upstreams.0.mirrors.0.caFile: cannot read /nonexistent/ca.pem: ENOENT']);
    const plain = await configFile('p.json', JSON.stringify({ upstreams: [{ name: 'r.internal', url: 'http://r.internal', ca: TEST_CA_PEM }] }));
    expect(await loadIssues(loadConfig({ config: plain }, {}))).toEqual(['upstreams.0.ca: is only used with an https:// url']);
  });

  it("sets an upstream's proxy from HTTPS_PROXY / HTTP_PROXY / NO_PROXY unless the file names one", async () => {
    const path = await configFile('c.yaml', 'upstreams:\n  - name: docker.io\n    url: https://registry-1.docker.io\n  - name: registry.lan\n    url: http://registry.lan:5000\n  - name: ghcr.io\n    url: https://ghcr.io\n    proxy: http://own:8080\n  - name: quay.io\n    url: https://quay.io\n');
    const config = await loadConfig({ config: path }, { HTTPS_PROXY: 'http://user:pw@proxy.corp:3128', HTTP_PROXY: 'http://plain.corp:3128', NO_PROXY: 'quay.io' });
    expect(config.upstreams.map((u) => u.proxy?.reveal())).toEqual(['http://user:pw@proxy.corp:3128', 'http://plain.corp:3128', 'http://own:8080', undefined]);
    // Its credentials never print.
    expect(inspect(config, { depth: 8 }) + JSON.stringify(config)).not.toContain('pw@');
    const bad = await configFile('b.yaml', 'upstreams:\n  - name: docker.io\n    url: https://registry-1.docker.io\n    proxy: socks5://proxy:1080\n');
    expect((await loadIssues(loadConfig({ config: bad }, {})))[0]).toMatch(/^upstreams\.0\.proxy: must be an http:\/\/ URL/);
    // Each mirror by its own URL: the environment's proxy, NO_PROXY, its own, never for loopback.
    const mirrors = await configFile('m.yaml', 'upstreams:\n  - name: docker.io\n    url: https://registry-1.docker.io\n    mirrors:\n      - url: https://mirror.gcr.io\n      - url: https://quay.io\n      - url: http://127.0.0.1:5000\n      - url: https://m.internal\n        proxy: http://own:8080\n');
    const mirrored = await loadConfig({ config: mirrors }, { HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: 'quay.io' });
    expect(mirrored.upstreams[0]?.mirrors.map((m) => m.proxy?.reveal())).toEqual(['http://proxy.corp:3128', undefined, undefined, 'http://own:8080']);
  });

  it('names the file when it cannot be read or parsed', async () => {
    expect((await loadIssues(loadConfig({ config: '/nonexistent/regcache.yaml' }, {})))[0]).toContain('/nonexistent/regcache.yaml');
    expect((await loadIssues(loadConfig({ config: await configFile('x.yaml', 'a: [unclosed') }, {})))[0]).toContain('not valid YAML');
  });
});
