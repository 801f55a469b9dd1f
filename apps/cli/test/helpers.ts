/**
 * The CLI as an operator runs it (the built `regcache-admin` bin, one process per call), and
 * a running regcache for it to talk to: a cache instance from the same config file with the
 * registry on 127.0.0.1 and the admin API on the config's admin endpoint (the unix socket
 * `<data>/admin.sock`), as apps/server wires them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, tempDir, type CommandResult } from '@regcache/testkit';
import { adminEndpoint, createRegistryCache, loadConfig, type RegistryCache } from '@regcache/proxy-core';

export const BIN = fileURLToPath(new URL('../bin/regcache-admin.js', import.meta.url));

/** Runs `regcache-admin ARGS` to completion (in `cwd`, else this process's working directory). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CommandResult> {
  return runCommand(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeoutMs: 60_000, cwd });
}

/** A config file as an operator writes it: loopback registry listener, a data dir, one upstream. */
export async function writeConfig(opts: { upstreamUrl: string; maxSize?: string }): Promise<{ path: string; data: string }> {
  const dir = await tempDir('cli-config');
  const data = join(dir, 'data');
  const lines = ['listen: 127.0.0.1:0', 'storage:', `  path: ${data}`];
  if (opts.maxSize !== undefined) lines.push(`  maxSize: ${opts.maxSize}`);
  lines.push('upstreams:', '  - name: docker.io', `    url: ${opts.upstreamUrl}`);
  const path = join(dir, 'regcache.yaml');
  await writeFile(path, `${lines.join('\n')}\n`);
  return { path, data };
}

export interface TestServer {
  readonly cache: RegistryCache;
  /** `127.0.0.1:PORT` of the registry listener. */
  readonly host: string;
  stop(): Promise<void>;
}

async function listenOn(server: Server, where: { path: string } | { port: number; host: string }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in where) server.listen(where.path, resolve);
    else server.listen(where.port, where.host, resolve);
  });
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Starts regcache from the config file, as the server app does. */
export async function startServer(configPath: string): Promise<TestServer> {
  const config = await loadConfig({ config: configPath });
  const cache = await createRegistryCache(config);
  const registry = createServer((req: IncomingMessage, res: ServerResponse) => void cache.handler(req, res));
  const admin = createServer((req: IncomingMessage, res: ServerResponse) => void cache.adminHandler(req, res));
  const endpoint = adminEndpoint(config);
  if (endpoint.kind !== 'unix') throw new Error('the tests use the default admin socket');
  await rm(endpoint.path, { force: true });
  await listenOn(registry, { port: 0, host: '127.0.0.1' });
  await listenOn(admin, { path: endpoint.path });
  return {
    cache,
    host: `127.0.0.1:${(registry.address() as AddressInfo).port}`,
    async stop() {
      await Promise.all([closeServer(registry), closeServer(admin)]);
      await cache.close();
    },
  };
}
