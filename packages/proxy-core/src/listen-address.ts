/**
 * Listen addresses: `HOST:PORT` or `unix:/path`. The admin endpoint may only be a unix
 * socket or a loopback address, and defaults to `admin.sock` in the data directory, so the
 * CLI finds a running server from the same config the server uses.
 */
import { join, resolve } from 'node:path';
import { ConfigError, type RegcacheConfig } from './config.js';

export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseListen(value: string, key: string): ListenAddress {
  if (value.startsWith('unix:') || value.startsWith('/') || value.startsWith('./')) {
    return { kind: 'unix', path: resolve(value.replace(/^unix:/, '')) };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new ConfigError([{ path: key, message: `must be HOST:PORT or unix:/path, not "${value}"` }]);
  return { kind: 'tcp', host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** The admin endpoint: `admin.listen`, else a unix socket `admin.sock` in the data directory. */
export function adminEndpoint(config: RegcacheConfig): ListenAddress {
  const address = parseListen(config.admin.listen ?? `unix:${join(config.storage.path, 'admin.sock')}`, 'admin.listen');
  if (address.kind === 'tcp' && !['127.0.0.1', 'localhost', '::1'].includes(address.host)) {
    throw new ConfigError([{ path: 'admin.listen', message: 'the admin API listens only on a unix socket or a loopback address' }]);
  }
  return address;
}

