/**
 * Listen addresses: `HOST:PORT` or `unix:/path`. The admin endpoint may only be a unix
 * socket or a loopback address, and defaults to `admin.sock` in the data directory, so the
 * CLI finds a running server from the same config the server uses.
 */
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { ConfigError } from './config-error.js';
import type { RegcacheConfig } from './config.js';

export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/**
 * The longest unix socket path Linux binds (sun_path is 108 bytes with its NUL). Node does not
 * refuse a longer one: it binds the path cut to this length, so the socket appears somewhere
 * else — beside the data directory, under a cut name — where no client looks for it.
 */
export const UNIX_PATH_MAX = 107;

const tooLong = (path: string): boolean => Buffer.byteLength(path) > UNIX_PATH_MAX;

export function parseListen(value: string, key: string): ListenAddress {
  if (value.startsWith('unix:') || value.startsWith('/') || value.startsWith('./')) {
    const given = value.replace(/^unix:/, '');
    // resolve('') is the working directory: `unix:` alone would bind (or look for) a socket there.
    if (given === '') throw new ConfigError([{ path: key, message: 'unix: needs a socket path, e.g. unix:/run/regcache/admin.sock' }]);
    const path = resolve(given);
    if (tooLong(path)) {
      throw new ConfigError([{ path: key, message: `the socket path ${path} is ${Buffer.byteLength(path)} bytes; a unix socket path holds at most ${UNIX_PATH_MAX}` }]);
    }
    return { kind: 'unix', path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new ConfigError([{ path: key, message: `must be HOST:PORT or unix:/path, not "${value}"` }]);
  return { kind: 'tcp', host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** The default admin socket: `admin.sock` in the data directory. */
const defaultAdminPath = (config: RegcacheConfig): string => resolve(join(config.storage.path, 'admin.sock'));

/**
 * True when admin.listen is unset and the default socket's path is too long to bind: no server
 * of this config can be listening (adminEndpoint refuses it), so a client need not look for one.
 */
export function defaultAdminUnbindable(config: RegcacheConfig): boolean {
  return config.admin.listen === undefined && tooLong(defaultAdminPath(config));
}

/** The admin endpoint: `admin.listen`, else a unix socket `admin.sock` in the data directory. */
export function adminEndpoint(config: RegcacheConfig): ListenAddress {
  const fallback = defaultAdminPath(config);
  if (defaultAdminUnbindable(config)) {
    const message = `not set, and its default ${fallback} (admin.sock in storage.path) is longer than a unix socket path can be (${UNIX_PATH_MAX} bytes): set admin.listen, e.g. unix:/run/regcache/admin.sock`;
    throw new ConfigError([{ path: 'admin.listen', message }]);
  }
  const address = parseListen(config.admin.listen ?? `unix:${fallback}`, 'admin.listen');
  const problem = adminAddressProblem(address);
  if (problem !== undefined) throw new ConfigError([{ path: 'admin.listen', message: problem }]);
  return address;
}

/** Why an address cannot be the admin endpoint (one that is not a unix socket or a loopback address: 127.0.0.0/8, localhost, ::1), or undefined. */
export function adminAddressProblem(address: ListenAddress): string | undefined {
  if (address.kind === 'unix') return undefined;
  const loopback = ['localhost', '::1'].includes(address.host.toLowerCase()) || (isIP(address.host) === 4 && address.host.startsWith('127.'));
  return loopback ? undefined : 'the admin API listens only on a unix socket or a loopback address';
}

/**
 * True when binding both addresses would fail with EADDRINUSE, as far as that is known without
 * I/O: one socket path; or one TCP port (not 0, which picks a free one) on the same host, on `::`
 * (every address, IPv4 too) and any other, or on 0.0.0.0 and an IPv4 address. `localhost` is
 * only known to overlap itself and `::` — it resolves to 127.0.0.1 or ::1.
 */
export function sameListener(a: ListenAddress, b: ListenAddress): boolean {
  if (a.kind === 'unix' || b.kind === 'unix') return a.kind === 'unix' && b.kind === 'unix' && a.path === b.path;
  if (a.port === 0 || a.port !== b.port) return false;
  const [x, y] = [a.host.toLowerCase(), b.host.toLowerCase()];
  if (x === y || x === '::' || y === '::') return true;
  return (x === '0.0.0.0' && isIP(y) === 4) || (y === '0.0.0.0' && isIP(x) === 4);
}

