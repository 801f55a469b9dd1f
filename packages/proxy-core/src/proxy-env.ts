/**
 * Which HTTP proxy the environment names for an upstream, read the way Go programs (and so
 * distribution's proxy mode, containerd, docker) read it:
 *
 *   https:// upstream → HTTPS_PROXY (or https_proxy)
 *   http://  upstream → HTTP_PROXY  (or http_proxy)
 *   none when NO_PROXY (or no_proxy) matches the upstream's host, or the host is loopback
 *
 * NO_PROXY is a comma- or space-separated list: `*` (everything), a host name that matches
 * itself and its subdomains (`example.com` and `.example.com` both match `a.example.com`),
 * an IP address, an IPv4 or IPv6 CIDR range (`10.0.0.0/8`, `fd00::/8`); any of them with `:port` to match that port
 * only. A lower-case variable is read when the upper-case one is unset (as Go does).
 */
import { BlockList, isIP } from 'node:net';

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

function variable(env: ProxyEnv, name: string): string | undefined {
  const value = env[name] ?? env[name.toLowerCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** The proxy URL for `upstreamUrl`, or undefined for a direct connection. */
export function proxyFromEnv(upstreamUrl: string, env: ProxyEnv): string | undefined {
  let url: URL;
  try {
    url = new URL(upstreamUrl);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  if (isLoopback(host)) return undefined;
  const proxy = variable(env, url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY');
  if (proxy === undefined) return undefined;
  const exempt = (variable(env, 'NO_PROXY') ?? '').split(/[\s,]+/).filter((entry) => entry !== '');
  return exempt.some((entry) => noProxyMatches(entry.toLowerCase(), host, port)) ? undefined : proxy;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function noProxyMatches(entry: string, host: string, port: string): boolean {
  if (entry === '*') return true;
  const { name, entryPort } = splitEntry(entry);
  if (entryPort !== undefined && entryPort !== port) return false;
  if (name.includes('/')) return inCidr(host, name);
  if (isIP(name) !== 0 || isIP(host) !== 0) return name === host;
  const domain = name.replace(/^\*?\./, '');
  return host === domain || host.endsWith(`.${domain}`);
}

/** `host`, `host:port`, `[v6]:port`, a bare IPv6 address, or a CIDR range. */
function splitEntry(entry: string): { name: string; entryPort: string | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed !== null) return { name: bracketed[1] ?? '', entryPort: bracketed[2] };
  if (isIP(entry) === 6) return { name: entry, entryPort: undefined };
  const withPort = /^(.*):(\d+)$/.exec(entry);
  return withPort === null ? { name: entry, entryPort: undefined } : { name: withPort[1] ?? '', entryPort: withPort[2] };
}

/** An IPv4 or IPv6 CIDR range (`10.0.0.0/8`, `fd00::/8`) containing `host`; node's BlockList does the arithmetic. */
function inCidr(host: string, cidr: string): boolean {
  const slash = cidr.lastIndexOf('/');
  const base = cidr.slice(0, slash);
  const prefix = Number(cidr.slice(slash + 1));
  const family = isIP(base);
  if (family === 0 || isIP(host) !== family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const range = new BlockList();
  range.addSubnet(base, prefix, type);
  return range.check(host, type);
}
