/**
 * The `regcache` bin as an operator runs it: flags, a pull through it with skopeo, one log
 * line per request with the cache result and no credential, clean exit on SIGTERM with the
 * store released, and bad configuration refused before listening.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedImages, skopeoPull, startRegistry, tempDir, type RunningRegistry, type TestImage } from '@regcache/testkit';
import { runServer, runToExit } from './spawn.js';

/** The version in apps/server/package.json, which the bin reports. */
async function ownVersion(): Promise<string> {
  return (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

describe('the regcache server process', () => {
  let upstream: RunningRegistry;
  let image: TestImage;
  beforeAll(async () => {
    upstream = await startRegistry({ auth: 'basic', username: 'ci', password: 'hunter2-secret' });
    image = (await seedImages(upstream, { prefix: 'proc' })).oci;
  }, 120_000);
  afterAll(async () => {
    await upstream?.stop();
  });

  it('pulls through, logs each request, and shuts down cleanly on SIGTERM', async () => {
    const data = await tempDir('regcache-proc-');
    const env = { REGCACHE_UPSTREAM_DOCKER_IO_USERNAME: 'ci', REGCACHE_UPSTREAM_DOCKER_IO_PASSWORD: 'hunter2-secret' };
    const config = await tempDir('regcache-cfg-');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${config}/regcache.yaml`, `upstreams:\n  - name: docker.io\n    url: ${upstream.url}\n`);
    const args = ['--config', `${config}/regcache.yaml`, '--listen', '127.0.0.1:0', '--data', data];
    const server = await runServer(args, env);
    try {
      // Linux, plain HTTP: blob bodies go out by sendfile (the addon npm ci builds must be there).
      const ready = server.lines.find((l) => l.msg === 'regcache listening');
      expect(ready?.sendfile).toBe(process.platform === 'linux');
      // Which build is running shows in its log, as `--version` prints it.
      expect(ready?.version).toBe(await ownVersion());
      const pulled = await skopeoPull(`${server.address}/${image.name}:${image.tag}`);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(pulled.manifestDigest).toBe(image.digest);
      const requests = server.lines.filter((l) => l.msg === 'request');
      expect(requests.length).toBeGreaterThan(2);
      expect(requests.some((l) => l.cache === 'miss' && typeof l.durationMs === 'number' && l.status === 200)).toBe(true);
      expect(JSON.stringify(server.lines) + server.stderr()).not.toContain('hunter2-secret');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    // The store was closed: a new process opens it and serves the cached image by digest with the upstream down.
    await upstream.stop();
    const again = await runServer(['--listen', '127.0.0.1:0', '--data', data, '--upstream', upstream.url]);
    try {
      const pulled = await skopeoPull(`${again.address}/${image.name}@${image.digest}`);
      expect(pulled.code, pulled.stderr).toBe(0);
    } finally {
      expect(await again.stop()).toBe(0);
      await upstream.start();
    }
  }, 120_000);

  it('refuses a bad config before listening, naming the key', async () => {
    const result = await runToExit(['--listen', 'not-an-address', '--data', await tempDir('regcache-bad-')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('listen');
    expect(result.stdout).not.toContain('regcache listening');
  });

  it('exits 2 for an unknown flag or a flag without its value, and 0 for --help', async () => {
    for (const args of [['--listn', '127.0.0.1:0'], ['--listen']]) {
      const result = await runToExit(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/error: (unknown option '--listn'|option '-l, --listen <host:port>' argument missing)/);
      expect(result.stdout).not.toContain('regcache listening');
    }
    const help = await runToExit(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--config <file>');
    expect(help.stdout).toContain('--version');
  });

  it('prints its version for --version and -V, and exits 0 without starting', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await runToExit([flag]);
      expect(result.code, flag).toBe(0);
      expect(result.stdout.trim(), flag).toBe(await ownVersion());
      expect(result.stdout).not.toContain('regcache listening');
    }
  });

  it('refuses a bad upstream URL naming its key', async () => {
    const result = await runToExit(['--upstream', 'ftp://nope', '--listen', '127.0.0.1:0', '--data', await tempDir('regcache-bad-')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('upstreams.0.url');
  });

  it('refuses a data directory whose admin socket path is too long, naming admin.listen', async () => {
    // Node binds a too-long unix socket path cut short: the socket would appear elsewhere, unfound.
    const parent = await tempDir('regcache-long-');
    const data = join(parent, 'd'.repeat(120));
    const result = await runToExit(['--listen', '127.0.0.1:0', '--data', data]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('admin.listen: not set, and its default');
    expect(result.stderr).toContain('set admin.listen, e.g. unix:/run/regcache/admin.sock');
    // Nothing beside the data directory (made or not): no socket under a cut name.
    expect((await readdir(parent)).filter((name) => name !== 'd'.repeat(120))).toEqual([]);
  });

  it('does not delete a file that is where its admin socket should be', async () => {
    const data = await tempDir('regcache-notsock-');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'admin.sock'), 'not a socket');
    const result = await runToExit(['--listen', '127.0.0.1:0', '--data', data]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(data, 'admin.sock')} exists and is not a socket: not replacing it`);
    expect(await readFile(join(data, 'admin.sock'), 'utf8')).toBe('not a socket');
  });
});
