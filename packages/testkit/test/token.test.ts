import { afterAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { pushManifest, pushBlob, startRegistry, startTokenServer, MediaTypes, type RunningRegistry } from '../src/index.js';

const started: Array<{ stop(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** Follows the registry's Bearer challenge the way a client does and returns the token response. */
async function tokenFromChallenge(registry: RunningRegistry, path: string, authorization?: string): Promise<{ status: number; token?: string }> {
  const challenged = await request(`${registry.url}${path}`);
  await challenged.body.dump();
  const header = String(challenged.headers['www-authenticate'] ?? '');
  const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const url = new URL(params['realm'] ?? '');
  url.searchParams.set('service', params['service'] ?? '');
  if (params['scope'] !== undefined) url.searchParams.set('scope', params['scope']);
  const res = await request(url, { headers: authorization === undefined ? {} : { authorization } });
  const body = (await res.body.json()) as { token?: string; access_token?: string; expires_in?: number };
  if (res.statusCode === 200) expect(body.access_token).toBe(body.token);
  return { status: res.statusCode, token: body.token };
}

async function seedOneManifest(registry: RunningRegistry, name: string): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = await pushBlob(registry, name, config);
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: configDigest, size: config.length }, layers: [] });
  await pushManifest(registry, name, 'v1', manifest, MediaTypes.ociManifest);
}

async function getManifest(registry: RunningRegistry, name: string, token: string | undefined): Promise<number> {
  const res = await request(`${registry.url}/v2/${name}/manifests/v1`, { headers: { accept: MediaTypes.ociManifest, authorization: `Bearer ${token ?? ''}` } });
  await res.body.dump();
  return res.statusCode;
}

describe('token server + token-auth registry', () => {
  for (const variant of [{ tokenAlg: 'RS256', tokenKeyHint: 'x5c' }, { tokenAlg: 'ES256', tokenKeyHint: 'x5c' }, { tokenAlg: 'RS256', tokenKeyHint: 'kid' }] as const) {
    it(`issues ${variant.tokenAlg}/${variant.tokenKeyHint} tokens the real registry accepts, and refuses wrong credentials`, async () => {
      const registry = await startRegistry({ auth: 'token', ...variant });
      started.push(registry);
      await seedOneManifest(registry, 'tok/app');
      const issuedBefore = registry.tokenServer?.issued ?? 0;
      const good = await tokenFromChallenge(registry, '/v2/tok/app/manifests/v1', basic('testuser', 'testpass'));
      expect(good.status).toBe(200);
      expect(await getManifest(registry, 'tok/app', good.token)).toBe(200);
      expect(registry.tokenServer?.issued).toBe(issuedBefore + 1);
      expect((await tokenFromChallenge(registry, '/v2/tok/app/manifests/v1', basic('testuser', 'wrong'))).status).toBe(401);
      expect((await tokenFromChallenge(registry, '/v2/tok/app/manifests/v1')).status).toBe(401);
      expect(await getManifest(registry, 'tok/app', 'not-a-jwt')).toBe(401);
      expect(registry.tokenServer?.requests().map((r) => r.status)).toEqual([200, 401, 401]);
    });
  }

  it('a token signed by a key outside the bundle is refused', async () => {
    const registry = await startRegistry({ auth: 'token' });
    started.push(registry);
    await seedOneManifest(registry, 'tok/keyed');
    const stranger = await startTokenServer({ service: 'regcache-testkit-registry', issuer: 'regcache-testkit-token-issuer', alg: 'ES256' });
    started.push(stranger);
    const forged = stranger.mint('testuser', [{ type: 'repository', name: 'tok/keyed', actions: ['pull'] }]);
    expect(await getManifest(registry, 'tok/keyed', forged)).toBe(401);
    const genuine = registry.tokenServer?.mint('testuser', [{ type: 'repository', name: 'tok/keyed', actions: ['pull'] }]);
    expect(await getManifest(registry, 'tok/keyed', genuine)).toBe(200);
  });

  it('a token for one repository does not open another', async () => {
    const registry = await startRegistry({ auth: 'token' });
    started.push(registry);
    await seedOneManifest(registry, 'tok/one');
    await seedOneManifest(registry, 'tok/two');
    const one = await tokenFromChallenge(registry, '/v2/tok/one/manifests/v1', basic('testuser', 'testpass'));
    expect(await getManifest(registry, 'tok/one', one.token)).toBe(200);
    expect(await getManifest(registry, 'tok/two', one.token)).toBe(401);
  });

  it('anonymousPull: no credentials get pull only', async () => {
    const registry = await startRegistry({ auth: 'token', anonymousPull: true });
    started.push(registry);
    await seedOneManifest(registry, 'anon/app');
    const anonymous = await tokenFromChallenge(registry, '/v2/anon/app/manifests/v1');
    expect(anonymous.status).toBe(200);
    expect(await getManifest(registry, 'anon/app', anonymous.token)).toBe(200);
    const push = await request(`${registry.url}/v2/anon/app/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${anonymous.token ?? ''}` } });
    await push.body.dump();
    expect(push.statusCode).toBe(401);
    expect(registry.tokenServer?.requests().at(-1)?.granted).toEqual([{ type: 'repository', name: 'anon/app', actions: ['pull'] }]);
    expect((await tokenFromChallenge(registry, '/v2/anon/app/manifests/v1', basic('testuser', 'wrong'))).status).toBe(401);
  });

  it('answers the OAuth2 password grant (POST) with a refresh token when asked', async () => {
    const server = await startTokenServer({ service: 'svc', issuer: 'iss', users: { u: 'p' } });
    started.push(server);
    const form = new URLSearchParams({ grant_type: 'password', username: 'u', password: 'p', service: 'svc', scope: 'repository:a/b:pull,push', client_id: 'test', access_type: 'offline' });
    const res = await request(server.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    const body = (await res.body.json()) as { token: string; refresh_token?: string; expires_in: number; issued_at: string };
    expect(res.statusCode).toBe(200);
    expect(body.expires_in).toBe(300);
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1] ?? '', 'base64url').toString()) as { iss: string; aud: string; sub: string; access: unknown };
    expect(claims).toMatchObject({ iss: 'iss', aud: 'svc', sub: 'u', access: [{ type: 'repository', name: 'a/b', actions: ['pull', 'push'] }] });
    const refreshForm = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: body.refresh_token ?? '', service: 'svc', scope: 'repository:a/b:pull' });
    const refreshed = await request(server.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: refreshForm.toString() });
    await refreshed.body.dump();
    expect(refreshed.statusCode).toBe(200);
    const bad = await request(server.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', username: 'u', password: 'x' }).toString() });
    await bad.body.dump();
    expect(bad.statusCode).toBe(401);
    expect(server.issued).toBe(2);
  });

  it('registry: scope names with a port parse (type:host:port/name:actions)', async () => {
    const server = await startTokenServer({ service: 'svc', issuer: 'iss' });
    started.push(server);
    const res = await request(`${server.url}?service=svc&scope=${encodeURIComponent('repository:localhost:5000/x/y:pull')}&scope=registry:catalog:*`);
    await res.body.dump();
    expect(server.requests()[0]?.granted).toEqual([
      { type: 'repository', name: 'localhost:5000/x/y', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });
});
