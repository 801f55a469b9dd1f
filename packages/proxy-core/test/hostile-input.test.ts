/**
 * Hostile and malformed requests get a 4xx with the OCI error body — never a 5xx, never a
 * request to the upstream for a path regcache did not understand, never a file outside the
 * data directory. Pushes and deletes get UNSUPPORTED (405), with the Allow a 405 must carry:
 * GET, HEAD on the registry's routes, nothing on the upload routes regcache does not serve.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useCache, type RunningCache } from './helpers.js';

/** Raw request: fetch() would normalise `..` and encodings away. */
function raw(cache: RunningCache, method: string, path: string): Promise<{ status: number; body: string; allow: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(cache.host.split(':')[1]), method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, allow: res.headers.allow }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hostile input', () => {
  const fixture = useCache();

  const cases: Array<[string, string, string]> = [
    ['GET', '/v2/../../etc/passwd/blobs/sha256:' + 'a'.repeat(64), 'NAME_INVALID'],
    ['GET', '/v2/foo/%2e%2e/blobs/sha256:' + 'a'.repeat(64), 'NAME_INVALID'],
    ['GET', '/v2/foo/blobs/sha256:../../../etc/passwd', 'NAME_INVALID'],
    ['GET', '/v2/foo/blobs/sha256:' + 'g'.repeat(64), 'DIGEST_INVALID'],
    ['GET', '/v2/foo/blobs/sha256:abc', 'DIGEST_INVALID'],
    ['GET', '/v2/foo/blobs/md5:' + 'a'.repeat(32), 'DIGEST_INVALID'],
    ['GET', '/v2/Foo/manifests/latest', 'NAME_INVALID'],
    ['GET', '/v2/foo//bar/manifests/latest', 'NAME_INVALID'],
    ['GET', '/v2/foo/manifests/-bad-tag', 'TAG_INVALID'],
    ['GET', '/v2/foo/manifests/' + 't'.repeat(200), 'TAG_INVALID'],
    ['GET', '/v2/' + 'a/'.repeat(140) + 'manifests/latest', 'NAME_INVALID'],
    ['GET', '/v2/foo/manifests/latest?ns=evil.example.com', 'NAME_UNKNOWN'],
    ['GET', '/etc/passwd', 'NOT_FOUND'],
    ['PUT', '/v2/foo/manifests/latest', 'UNSUPPORTED'],
    ['DELETE', '/v2/foo/manifests/sha256:' + 'a'.repeat(64), 'UNSUPPORTED'],
    ['POST', '/v2/foo/blobs/uploads/', 'UNSUPPORTED'],
    ['PATCH', '/v2/foo/blobs/uploads/abc', 'UNSUPPORTED'],
  ];

  it.each(cases)('%s %s → %s', async (method, path, code) => {
    const { upstream, cache } = fixture();
    const before = upstream.requests().length;
    const res = await raw(cache, method, path);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((JSON.parse(res.body) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(code);
    expect(upstream.requests().length).toBe(before);
  });

  it.each([
    ['PUT', '/v2/foo/manifests/latest', 'GET, HEAD'],
    ['DELETE', `/v2/foo/blobs/sha256:${'a'.repeat(64)}`, 'GET, HEAD'],
    ['OPTIONS', '/v2/', 'GET, HEAD'],
    ['POST', '/v2/foo/blobs/uploads/', ''],
    ['GET', '/v2/_catalog', ''],
  ])('%s %s → 405 with Allow: %j', async (method, path, allow) => {
    const res = await raw(fixture().cache, method, path);
    expect([res.status, res.allow]).toEqual([405, allow]);
  });

  it('answers an unknown manifest with MANIFEST_UNKNOWN from the upstream, not a 5xx', async () => {
    const res = await raw(fixture().cache, 'GET', '/v2/nothing/here/manifests/latest');
    expect(res.status).toBe(404);
    expect(res.body).toMatch(/MANIFEST_UNKNOWN|NAME_UNKNOWN/);
  });
});
