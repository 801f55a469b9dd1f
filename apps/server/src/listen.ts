/**
 * Listening: the public registry listener (HTTPS when a cert and key are configured, HTTP
 * otherwise, keep-alive tuned for pulls of many layers) and the admin listener, which may
 * only be a unix socket or a loopback address — never the public interface.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { lstat, readFile, rm } from 'node:fs/promises';
import { answerClientErrors, ConfigError, refuseConnect, type ListenAddress, type RegcacheConfig } from '@regcache/proxy-core';
import { applyConnectionLimits, connectionOptions } from './connection-limits.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export async function createPublicServer(config: RegcacheConfig, handler: Handler): Promise<Server> {
  const options = connectionOptions(config.limits);
  let server: Server;
  if (config.tls) {
    const [cert, key] = await Promise.all([readTlsFile(config.tls.cert, 'tls.cert'), readTlsFile(config.tls.key, 'tls.key')]);
    server = createHttpsServer({ cert, key, ...options }, handler);
  } else {
    server = createHttpServer(options, handler);
  }
  server.on('connect', refuseConnect);
  applyConnectionLimits(server, options);
  answerClientErrors(server);
  return server;
}

async function readTlsFile(path: string, key: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ConfigError([{ path: key, message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` }]);
  }
}

/**
 * A socket file left by a server that is gone is removed before binding; anything else at the
 * path is not (a typo in admin.listen must not delete a file).
 */
async function clearStaleSocket(path: string): Promise<void> {
  const found = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (found === undefined) return;
  if (!found.isSocket()) throw new Error(`${path} exists and is not a socket: not replacing it`);
  await rm(path, { force: true });
}

export async function listenOn(server: Server, address: ListenAddress): Promise<string> {
  if (address.kind === 'unix') await clearStaleSocket(address.path);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolveListen();
    };
    if (address.kind === 'unix') server.listen(address.path, done);
    else server.listen(address.port, address.host, done);
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') return `unix:${bound ?? ''}`;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return `${host}:${bound.port}`;
}
