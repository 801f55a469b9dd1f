/**
 * Listening: the public registry listener (HTTPS when a cert and key are configured, HTTP
 * otherwise, keep-alive tuned for pulls of many layers) and the admin listener, which may
 * only be a unix socket or a loopback address — never the public interface.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { lstat, readFile, rm } from 'node:fs/promises';
import { answerClientErrors, ConfigError, refuseConnect, type ListenAddress, type Logger, type RegcacheConfig } from '@regcache/proxy-core';
import { applyConnectionLimits, connectionOptions } from './connection-limits.js';
import { answerPlainHttpOnTls } from './plain-on-tls.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export async function createPublicServer(config: RegcacheConfig, handler: Handler, logger: Logger): Promise<Server> {
  const options = connectionOptions(config.limits);
  let server: Server;
  if (config.tls) {
    const [cert, key] = await Promise.all([readTlsFile(config.tls.cert, 'tls.cert'), readTlsFile(config.tls.key, 'tls.key')]);
    checkTlsPair(cert, key, config.tls);
    const https = createHttpsServer({ cert, key, ...options }, handler);
    answerPlainHttpOnTls(https, logger);
    server = https;
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

const reason = (error: unknown): string => (error instanceof Error ? error.message.replace(/^error:[0-9A-F]+:/, '') : String(error));

/**
 * The certificate and key as Node's TLS will take them, each checked on its own first, so a
 * swapped pair, a file of the wrong kind or a key of another certificate is refused naming its
 * key — not with OpenSSL's bare "no start line" or "key values mismatch" and exit code 1.
 */
function checkTlsPair(cert: Buffer, key: Buffer, paths: { cert: string; key: string }): void {
  try {
    new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError([{ path: 'tls.cert', message: `${paths.cert} holds no PEM certificate (${reason(error)})` }]);
  }
  try {
    createPrivateKey(key);
  } catch (error) {
    throw new ConfigError([{ path: 'tls.key', message: `${paths.key} holds no unencrypted PEM private key (${reason(error)})` }]);
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    const mismatch = (error as NodeJS.ErrnoException).code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH';
    throw new ConfigError([{ path: 'tls.key', message: mismatch ? `${paths.key} is not the key of the certificate in ${paths.cert}` : reason(error) }]);
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
