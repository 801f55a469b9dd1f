/**
 * How the CLI names an admin endpoint, in its messages and as the authority of its requests:
 * an IPv6 loopback (`admin.listen: "[::1]:5001"`) needs its brackets back, or every request
 * fails with ERR_INVALID_URL and the CLI cannot reach a server that is running. (The test
 * stays on names: the suite contacts only 127.0.0.1 and localhost.)
 */
import { describe, expect, it } from 'vitest';
import { parseListen } from '@regcache/proxy-core';
import { describeAddress } from '../src/admin-client.js';

describe('describeAddress', () => {
  it.each([
    ['[::1]:5001', '[::1]:5001'],
    ['127.0.0.1:5001', '127.0.0.1:5001'],
    ['localhost:5001', 'localhost:5001'],
    ['unix:/run/regcache/admin.sock', 'unix:/run/regcache/admin.sock'],
  ])('%s → %s, a valid URL authority for TCP', (listen, described) => {
    const address = parseListen(listen, 'admin.listen');
    expect(describeAddress(address)).toBe(described);
    if (address.kind === 'tcp') expect(new URL(`http://${described}/healthz`).port).toBe('5001');
  });
});
