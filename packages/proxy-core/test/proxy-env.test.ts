/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY read as Go reads them (what distribution, containerd and
 * docker do): by the upstream's scheme, lower-case names as a fallback, loopback never proxied,
 * NO_PROXY by host, domain suffix, IP, IPv4 or IPv6 CIDR, with or without a port.
 */
import { describe, expect, it } from 'vitest';
import { proxyFromEnv } from '../src/proxy-env.js';

const P = 'http://proxy.corp:3128';

describe('proxyFromEnv', () => {
  it('picks the variable by the upstream scheme, upper case first', () => {
    expect(proxyFromEnv('https://registry-1.docker.io', { HTTPS_PROXY: P, HTTP_PROXY: 'http://other:1' })).toBe(P);
    expect(proxyFromEnv('http://registry.lan:5000', { HTTPS_PROXY: 'http://other:1', HTTP_PROXY: P })).toBe(P);
    expect(proxyFromEnv('https://ghcr.io', { https_proxy: P })).toBe(P);
    expect(proxyFromEnv('https://ghcr.io', { HTTPS_PROXY: P, https_proxy: 'http://lower:1' })).toBe(P);
    expect(proxyFromEnv('https://ghcr.io', { HTTP_PROXY: P })).toBeUndefined();
    expect(proxyFromEnv('https://ghcr.io', { HTTPS_PROXY: '  ' })).toBeUndefined();
  });

  it('never proxies loopback', () => {
    for (const url of ['http://127.0.0.1:5000', 'http://127.1.2.3', 'http://localhost:5000', 'https://[::1]:5000', 'http://reg.localhost']) {
      expect(proxyFromEnv(url, { HTTPS_PROXY: P, HTTP_PROXY: P }), url).toBeUndefined();
    }
  });

  it.each([
    ['*', 'https://ghcr.io', true],
    ['docker.io', 'https://registry-1.docker.io', true],
    ['.docker.io', 'https://registry-1.docker.io', true],
    ['*.docker.io', 'https://registry-1.docker.io', true],
    ['docker.io', 'https://docker.io', true],
    ['ker.io', 'https://docker.io', false],
    ['quay.io, ghcr.io', 'https://ghcr.io', true],
    ['quay.io ghcr.io', 'https://ghcr.io', true],
    ['GHCR.IO', 'https://ghcr.io', true],
    ['ghcr.io:443', 'https://ghcr.io', true],
    ['ghcr.io:8443', 'https://ghcr.io', false],
    ['registry.lan:5000', 'http://registry.lan:5000', true],
    ['10.1.2.3', 'http://10.1.2.3:5000', true],
    ['10.1.2.4', 'http://10.1.2.3:5000', false],
    ['10.0.0.0/8', 'http://10.1.2.3:5000', true],
    ['192.168.0.0/16', 'http://10.1.2.3:5000', false],
    ['10.0.0.0/8', 'https://ten.example', false],
    ['fd00::1', 'https://[fd00::1]', true],
    ['[fd00::1]:443', 'https://[fd00::1]', true],
    ['10.1.2.3/32', 'http://10.1.2.3:5000', true],
    ['0.0.0.0/0', 'http://10.1.2.3:5000', true],
    ['fd00::/8', 'https://[fd12:3456::1]', true],
    ['fd00::/8', 'https://[2001:db8::1]', false],
    ['2001:db8::/32', 'https://[2001:db8:0:1::5]:5000', true],
    ['2001:db8::/129', 'https://[2001:db8::1]', false],
    ['fd00::/8', 'http://10.1.2.3', false],
    ['10.0.0.0/8', 'https://[fd00::1]', false],
  ])('NO_PROXY=%s exempts %s: %s', (noProxy, url, exempt) => {
    expect(proxyFromEnv(url, { HTTPS_PROXY: P, HTTP_PROXY: P, NO_PROXY: noProxy })).toBe(exempt ? undefined : P);
  });

  it('reads no_proxy when NO_PROXY is unset, and ignores a URL it cannot parse', () => {
    expect(proxyFromEnv('https://ghcr.io', { HTTPS_PROXY: P, no_proxy: 'ghcr.io' })).toBeUndefined();
    expect(proxyFromEnv('not a url', { HTTPS_PROXY: P })).toBeUndefined();
  });
});
