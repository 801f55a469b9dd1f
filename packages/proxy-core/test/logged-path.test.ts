/** What a request target looks like in a log line: the API's own query parameters kept, any other value hidden, cut at 512. */
import { describe, expect, it } from 'vitest';
import { loggedPath } from '../src/logged-path.js';

describe('loggedPath', () => {
  it.each([
    ['/v2/library/alpine/manifests/3.20', '/v2/library/alpine/manifests/3.20'],
    ['/v2/alpine/tags/list?n=10&last=3.1&ns=docker.io', '/v2/alpine/tags/list?n=10&last=3.1&ns=docker.io'],
    ['/v2/alpine/manifests/1?password=hunter2&ns=docker.io', '/v2/alpine/manifests/1?password=…&ns=docker.io'],
    ['/v2/alpine/blobs/sha256:ab?X-Amz-Signature=abc&token=t&flag', '/v2/alpine/blobs/sha256:ab?X-Amz-Signature=…&token=…&flag'],
    ['/v2/?', '/v2/?'],
  ])('%s → %s', (url, logged) => {
    expect(loggedPath(url)).toBe(logged);
  });

  it('cuts a long target at 512 characters, after hiding values', () => {
    const logged = loggedPath(`/v2/${'a'.repeat(600)}?secret=${'s'.repeat(40)}`);
    expect(logged).toHaveLength(513);
    expect(logged.endsWith('…')).toBe(true);
    expect(loggedPath(`/v2/x?${'k'.repeat(500)}=${'s'.repeat(40)}`)).not.toContain('sss');
  });
});
