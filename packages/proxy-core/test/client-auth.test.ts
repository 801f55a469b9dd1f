/**
 * Client auth on: an htpasswd file made by Apache's `htpasswd -B` (bcrypt) and a static
 * token. No credentials → 401 with a Basic challenge and nothing asked upstream; wrong ones
 * → 401, logged with the reason and never the secret; right ones → skopeo pulls. Plus
 * regcache's own bcrypt against htpasswd's hashes, so the verifier is checked on real input.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked, skopeoPull, startRegistry, tempDir, type RunningRegistry } from '@regcache/testkit';
import { bcryptVerify, parseBcryptHash } from '../src/bcrypt.js';
import { ConfigError, loadConfig } from '../src/index.js';
import { parseHtpasswd } from '../src/htpasswd.js';
import { startCache, type RunningCache } from './helpers.js';
import { pushTinyImage, type TinyImage } from './images.js';

const PASSWORD = 'correct horse battery';
const TOKEN = 'static-token-8f3a61c2';
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function htpasswdHash(password: string, cost: number): Promise<string> {
  const { stdout } = await runChecked('htpasswd', ['-nbB', '-C', String(cost), 'u', password]);
  return stdout.trim().slice('u:'.length);
}

describe('bcrypt verification against htpasswd -B', () => {
  it.each([
    [PASSWORD, 5],
    ['', 4],
    ['ünïcødé ✓', 6],
    ['x'.repeat(100), 4],
  ])('verifies %j (cost %i) and rejects a near miss', async (password, cost) => {
    const hash = parseBcryptHash(await htpasswdHash(password, cost));
    expect(hash).toBeDefined();
    if (hash === undefined) return;
    expect(bcryptVerify(password, hash)).toBe(true);
    expect(bcryptVerify(`!${password.slice(1)}`, hash)).toBe(false);
    // Like every bcrypt, only the first 72 bytes count.
    expect(bcryptVerify(`${password}!`, hash)).toBe(Buffer.byteLength(password) >= 72);
  });

  it('matches the published $2a$ test vector', () => {
    const hash = parseBcryptHash('$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW');
    expect(hash && bcryptVerify('U*U', hash)).toBe(true);
  });

  it('refuses an htpasswd file with a non-bcrypt entry, naming the line', () => {
    expect(() => parseHtpasswd('ok:$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\nold:$apr1$abc$def\n', 'users.htpasswd')).toThrow(
      expect.objectContaining({ constructor: ConfigError, message: expect.stringContaining('users.htpasswd line 2 (user "old")') }),
    );
  });
});

describe('client auth configuration', () => {
  it('is off by default, and accepts tokens from the file, a tokens file and the environment', async () => {
    expect((await loadConfig({}, {})).auth).toEqual({ tokens: [], realm: 'regcache' });
    const dir = await tempDir('client-auth-config');
    await writeFile(join(dir, 'tokens'), '# CI runners\nfrom-file\n\n');
    await writeFile(join(dir, 'c.yaml'), `auth:\n  htpasswd: /etc/regcache/htpasswd\n  tokens: [inline]\n  tokensFile: ${join(dir, 'tokens')}\n`);
    const config = await loadConfig({ config: join(dir, 'c.yaml') }, { REGCACHE_AUTH_TOKENS: 'env-a, env-b' });
    expect(config.auth.htpasswd).toBe('/etc/regcache/htpasswd');
    expect(config.auth.tokens.map((t) => t.reveal())).toEqual(['inline', 'env-a', 'env-b', 'from-file']);
    expect(JSON.stringify(config)).not.toMatch(/env-a|from-file/);
  });
});

describe('a regcache with client auth on', () => {
  let upstream: RunningRegistry;
  let image: TinyImage;
  let cache: RunningCache;

  beforeAll(async () => {
    upstream = await startRegistry();
    image = await pushTinyImage(upstream, 'private/app', 'v1');
    const dir = await tempDir('client-auth');
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `# pullers\nalice:${await htpasswdHash(PASSWORD, 5)}\n`);
    cache = await startCache({ upstreamUrl: upstream.url, auth: { htpasswd, tokens: [TOKEN] } });
    await upstream.settle();
    upstream.resetRequests();
  }, 60_000);

  afterAll(async () => {
    await cache?.close();
    await upstream?.stop();
  });

  async function status(path: string, authorization?: string): Promise<{ status: number; challenge: string | null; code?: string }> {
    const res = await fetch(`${cache.url}${path}`, { headers: authorization === undefined ? {} : { authorization } });
    const body = (await res.json()) as { errors?: Array<{ code: string }> };
    return { status: res.status, challenge: res.headers.get('www-authenticate'), code: body.errors?.[0]?.code };
  }

  it('answers /v2/ and every route without credentials with 401 and a Basic challenge, asking nothing upstream', async () => {
    for (const path of ['/v2/', '/v2/private/app/manifests/v1', `/v2/private/app/blobs/${image.blobs[0]}`, '/v2/private/app/tags/list']) {
      expect(await status(path)).toEqual({ status: 401, challenge: 'Basic realm="regcache"', code: 'UNAUTHORIZED' });
    }
    await upstream.settle();
    expect(upstream.requests()).toEqual([]);
  });

  it.each([
    ['a wrong password', basic('alice', 'wrong'), 'bad-password'],
    ['an unknown user', basic('mallory', PASSWORD), 'unknown-user'],
    ['a wrong token', `Bearer ${TOKEN}x`, 'bad-token'],
    ['a malformed header', 'Basic !!!', 'malformed'],
  ])('answers %s with 401 and logs the reason, not the secret', async (_label, authorization, reason) => {
    expect(await status('/v2/', authorization)).toMatchObject({ status: 401, challenge: 'Basic realm="regcache"' });
    const failure = cache.logs.filter((l) => l.msg === 'client authentication failed').at(-1);
    expect(failure).toMatchObject({ level: 'warn', reason });
    const logged = JSON.stringify(cache.logs);
    for (const secret of ['wrong', PASSWORD, `${TOKEN}x`]) expect(logged).not.toContain(secret);
  });

  it('lets the right credentials in: htpasswd user, token as Bearer, token as a Basic password', async () => {
    expect((await status('/v2/', basic('alice', PASSWORD))).status).toBe(200);
    expect((await status('/v2/', `Bearer ${TOKEN}`)).status).toBe(200);
    expect((await status('/v2/', basic('ci', TOKEN))).status).toBe(200);
  });

  it('pulls with skopeo --src-creds, and refuses skopeo without them', async () => {
    const pulled = await skopeoPull(`${cache.host}/private/app:v1`, { creds: `alice:${PASSWORD}` });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.manifestDigest).toBe(image.digest);
    const refused = await skopeoPull(`${cache.host}/private/app:v1`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/unauthorized|authentication required/i);
  }, 60_000);
});
