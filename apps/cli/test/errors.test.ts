/**
 * `regcache-admin` refusing clearly: `--help` on every verb; exit 2 with the reason on a bad
 * argument or config; exit 1 with the reason when a server is there but stuck or broken, or
 * when something else holds the store — never a stack trace, never a silent fallback.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBlobStore } from '@regcache/blob-store';
import { tempDir } from '@regcache/testkit';
import { runCli } from './helpers.js';

const servers: Array<Server | NetServer> = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  for (const server of servers.splice(0)) {
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A data directory holding a real (empty) store, closed again. */
async function emptyStore(): Promise<string> {
  const data = await tempDir('cli-store');
  await (await createBlobStore({ root: data })).close();
  return data;
}

async function listenOnSocket<T extends Server | NetServer>(server: T, path: string): Promise<T> {
  await new Promise<void>((resolve) => server.listen(path, resolve));
  servers.push(server);
  return server;
}

describe('regcache-admin --help', () => {
  it.each([
    ['stats', '--json'],
    ['gc', '--max-size'],
    ['verify', '--sample'],
    ['ls', '[repository]'],
    ['warm', '--platform'],
  ])('%s --help describes its flags and exits 0', async (verb, flag) => {
    const result = await runCli([verb, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: regcache-admin ${verb}`);
    expect(result.stdout).toContain(flag);
    expect(result.stdout).toContain('--config');
  });
});

describe('regcache-admin --version', () => {
  it.each(['--version', '-V'])('%s prints the version of apps/cli/package.json and exits 0', async (flag) => {
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await runCli([flag]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });
});

describe('bad arguments exit 2 with the reason', () => {
  it.each([
    [['gc', '--max-size', 'lots'], 'not a size'],
    [['gc', '--max-age', 'forever'], 'not a duration'],
    [['gc', '--max-age', '0s'], 'must be longer than 0'],
    // gc deletes by these: a bare number (30 meant as days, 50 as GiB) would empty the cache.
    [['gc', '--max-age', '30'], 'give a unit (e.g. 30d, 12h): a bare number would be read as seconds'],
    [['gc', '--max-size', '50'], 'give a unit (e.g. 50GiB, 512MB, 0B): a bare number would be read as bytes'],
    [['verify', '--sample', '0'], 'not a positive whole number'],
    [['warm'], "missing required argument 'images'"],
    [['warm', 'alpine', '--platform', 'linux'], '--platform must be os/arch'],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['stats', '--config', '/nonexistent/regcache.yaml'], 'cannot read /nonexistent/regcache.yaml'],
    [['stats', '--config', '/etc/regcache.yaml', '--data', '/tmp/other'], "option '-d, --data <dir>' cannot be used with option '-c, --config <file>'"],
    [['gc', '--data', '/tmp/other', '--max-size', '1GiB', '--config', '/etc/regcache.yaml'], 'cannot be used with option'],
  ])('%j', async (args, message) => {
    const result = await runCli(args);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a data directory without a store', async () => {
    const result = await runCli(['stats', '--data', join(await tempDir('cli-nothing'), 'data')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no regcache store at');
  });

  it('a store whose default admin socket path is too long to bind is opened directly', async () => {
    // No server can listen there (it refuses to start), so the CLI does not look for one.
    const data = join(await tempDir('cli-long'), 'd'.repeat(120));
    await (await createBlobStore({ root: data })).close();
    const result = await runCli(['stats', '--json', '--data', data]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ blobs: 0 });
  });

  it('an image on an upstream that is not configured, and a bad repository filter', async () => {
    const data = await emptyStore();
    const warm = await runCli(['warm', 'quay.io/org/app:1', '--data', data]);
    expect(warm.code).toBe(2);
    expect(warm.stderr).toContain('no upstream named "quay.io" is configured');
    const ls = await runCli(['ls', 'Not A Name', '--data', data]);
    expect(ls.code).toBe(2);
    expect(ls.stderr).toContain('not a repository name');
    // Filters that could never match: a tag or digest, capitals in the repository's name.
    for (const [filter, why] of [
      ['docker.io/team/a:v1', 'without a tag or digest'],
      [`docker.io/team/a@sha256:${'a'.repeat(64)}`, 'without a tag or digest'],
      ['docker.io/team/A', 'names are lowercase'],
      ['Docker.io/team/a', 'names are lowercase'],
      ['', 'the argument is empty'],
    ]) {
      const result = await runCli(['ls', filter as string, '--data', data]);
      expect([filter, result.code]).toEqual([filter, 2]);
      expect(result.stderr).toContain(why);
    }
    // A host with a port is a name, not a tag.
    expect((await runCli(['ls', 'localhost:5000/team/a', '--data', data])).code).toBe(0);
  });

  it('an empty image reference, in the words the server uses for it', async () => {
    const data = await emptyStore();
    for (const verb of ['rm', 'expire', 'warm']) {
      const result = await runCli([verb, 'docker.io/team/a:v1', '', 'docker.io/team/b:v1', '--data', data]);
      expect([verb, result.code]).toEqual([verb, 2]);
      expect(result.stderr).toContain('image reference 2 of 3 is empty');
    }
  });
});

describe('a server that is there but does not answer properly exits 1 with the reason', () => {
  it('answers /healthz with an error', async () => {
    const data = await emptyStore();
    await listenOnSocket(createServer((_req, res) => res.writeHead(500).end('boom')), join(data, 'admin.sock'));
    const result = await runCli(['stats', '--data', data]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('answered /healthz with 500: boom');
  });

  it('answers with something that is not JSON', async () => {
    const data = await emptyStore();
    await listenOnSocket(createServer((_req, res) => res.end('<html>')), join(data, 'admin.sock'));
    const result = await runCli(['ls', '--data', data]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('with something that is not JSON');
  });

  it('accepts the connection and never answers', async () => {
    const data = await emptyStore();
    await listenOnSocket(createNetServer((socket) => void sockets.add(socket)), join(data, 'admin.sock'));
    const result = await runCli(['gc', '--dry-run', '--data', data]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('did not answer within 3s');
  });

  it('a store held by another process with no server answering', async () => {
    const data = await emptyStore();
    const holder = await createBlobStore({ root: data });
    try {
      const result = await runCli(['verify', '--data', data]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('is held by another process, but no regcache server answers at unix:');
    } finally {
      await holder.close();
    }
  });

  it('a server whose admin.listen has port 0: says the kernel picked the port, and how to reach it', async () => {
    const data = await emptyStore();
    const config = join(data, '..', 'port-zero.yaml');
    await writeFile(config, `storage:\n  path: ${data}\nadmin:\n  listen: 127.0.0.1:0\n`);
    const holder = await createBlobStore({ root: data });
    try {
      const result = await runCli(['stats', '--config', config]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('no regcache server answers at 127.0.0.1:0: admin.listen has port 0, so the server took a port the kernel picked (its log says which); give admin.listen a fixed port to reach it');
    } finally {
      await holder.close();
    }
  });
});
