/**
 * Client auth on: an htpasswd file made by Apache's `htpasswd -B` (bcrypt) and a static
 * token. No credentials → 401 with a Basic challenge and nothing asked upstream; wrong ones
 * → 401, logged with the reason and never the secret; right ones → skopeo pulls. Plus
 * regcache's own bcrypt against htpasswd's hashes, so the verifier is checked on real input.
 */
import { writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked, skopeoPull, startRegistry, tempDir, type RunningRegistry } from '@regcache/testkit';
import { bcryptVerify, bcryptVerifySliced, parseBcryptHash, type BcryptHash } from '../src/bcrypt.js';
import { ConfigError, loadConfig } from '../src/index.js';
import { parseHtpasswd } from '../src/htpasswd.js';
import { startCache, type RunningCache } from './helpers.js';
import { pushTinyImage, type TinyImage } from './images.js';

const PASSWORD = 'correct horse battery';
const TOKEN = 'static-token-8f3a61c2';
const UNICODE_TOKEN = 'jeton-tökén-✓-51c0';
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function bcryptOf(text: string): BcryptHash {
  const hash = parseBcryptHash(text);
  if (typeof hash !== 'object') throw new Error(`not a usable bcrypt hash: ${text}`);
  return hash;
}

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
    const hash = bcryptOf(await htpasswdHash(password, cost));
    expect(bcryptVerify(password, hash)).toBe(true);
    expect(bcryptVerify(`!${password.slice(1)}`, hash)).toBe(false);
    // In slices, the same answers, with a pause between slices.
    let pauses = 0;
    const pause = async (): Promise<void> => void (pauses += 1);
    expect(await bcryptVerifySliced(password, hash, pause)).toBe(true);
    expect(await bcryptVerifySliced(`!${password.slice(1)}`, hash, pause)).toBe(false);
    expect(pauses).toBe(2 * (2 ** cost / 16));
    // Like every bcrypt, only the first 72 bytes count.
    expect(bcryptVerify(`${password}!`, hash)).toBe(Buffer.byteLength(password) >= 72);
  });

  it('matches the published $2a$ test vector', () => {
    expect(bcryptVerify('U*U', bcryptOf('$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'))).toBe(true);
  });

  it('refuses an htpasswd file with a non-bcrypt entry, naming the line', () => {
    expect(() => parseHtpasswd('ok:$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\nold:$apr1$abc$def\n', 'users.htpasswd')).toThrow(
      expect.objectContaining({ constructor: ConfigError, message: expect.stringContaining('users.htpasswd line 2 (user "old")') }),
    );
  });

  it('refuses a cost regcache could not answer a login at in time, saying which and what to use', () => {
    // Well-formed hashes (htpasswd -B -C 17 would take seconds to make one).
    const slow = `$2y$17$${'C'.repeat(53)}`;
    expect(() => parseHtpasswd(`ok:${bcryptOf('$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW').encoded}\nslow:${slow}\n`, 'users')).toThrow(
      expect.objectContaining({
        constructor: ConfigError,
        message: expect.stringMatching(/auth\.htpasswd.*users line 2 \(user "slow"\): bcrypt cost 17 is above 16.*htpasswd -B -C 16/),
      }),
    );
    expect(bcryptOf(`$2y$16$${'C'.repeat(53)}`).cost).toBe(16);
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
    // bob's cost makes a check take long enough (≈0.2 s) to see what happens meanwhile.
    await writeFile(htpasswd, `# pullers\nalice:${await htpasswdHash(PASSWORD, 5)}\nbob:${await htpasswdHash(PASSWORD, 10)}\n`);
    cache = await startCache({ upstreamUrl: upstream.url, auth: { htpasswd, tokens: [TOKEN, UNICODE_TOKEN] } });
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

  it('takes a token that is not ASCII as Bearer as well as a Basic password (sent as UTF-8 bytes)', async () => {
    const withHeader = (authorization: string): Promise<number> =>
      new Promise((resolve, reject) => {
        // node:http writes header strings as latin1: these are the token's UTF-8 bytes on the wire.
        const req = httpGet(`${cache.url}/v2/`, { headers: { authorization: Buffer.from(authorization, 'utf8').toString('latin1') } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
    expect(await withHeader(`Bearer ${UNICODE_TOKEN}`)).toBe(200);
    expect(await withHeader(basic('ci', UNICODE_TOKEN))).toBe(200);
    expect(await withHeader(`Bearer ${UNICODE_TOKEN.replace('ö', 'o')}`)).toBe(401);
  });

  it('logs a user name only when it is one: a token sent as the user name is not shown', async () => {
    const lastFailure = (): Record<string, unknown> | undefined => cache.logs.filter((l) => l.msg === 'client authentication failed').at(-1);
    expect((await status('/v2/', basic(TOKEN, 'x'))).status).toBe(401);
    expect(lastFailure()).toMatchObject({ reason: 'unknown-user', user: '(not shown: not a user name)' });
    expect((await status('/v2/', basic('ci runner #4', 'x'))).status).toBe(401);
    expect(lastFailure()).toMatchObject({ reason: 'unknown-user', user: '(not shown: not a user name)' });
    expect((await status('/v2/', basic('mallory', 'x'))).status).toBe(401);
    expect(lastFailure()).toMatchObject({ reason: 'unknown-user', user: 'mallory' });
    expect(JSON.stringify(cache.logs)).not.toContain(TOKEN);
  });

  it('answers other requests while a wrong password is being checked', async () => {
    const order: string[] = [];
    const wrong = status('/v2/', basic('bob', 'wrong-while-busy')).then((r) => (order.push('wrong password'), r));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const token = await status('/v2/', `Bearer ${TOKEN}`);
    order.push('token');
    expect(token.status).toBe(200);
    expect((await wrong).status).toBe(401);
    expect(order).toEqual(['token', 'wrong password']);
  });

  it('refuses password checks beyond those it can queue with 429 and Retry-After, and the rest with 401', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await fetch(`${cache.url}/v2/`, { headers: { authorization: basic('bob', `flood-${i}`) } });
        const body = (await res.json()) as { errors: Array<{ code: string }> };
        return `${res.status} ${body.errors[0]?.code} ${res.headers.get('retry-after')}`;
      }),
    );
    expect(answers.filter((a) => a === '429 TOOMANYREQUESTS 1').length).toBeGreaterThan(0);
    expect(answers.filter((a) => a !== '429 TOOMANYREQUESTS 1')).toEqual(answers.filter((a) => a.startsWith('401')));
  }, 30_000);

  it('pulls with skopeo --src-creds, and refuses skopeo without them', async () => {
    const pulled = await skopeoPull(`${cache.host}/private/app:v1`, { creds: `alice:${PASSWORD}` });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.manifestDigest).toBe(image.digest);
    const refused = await skopeoPull(`${cache.host}/private/app:v1`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/unauthorized|authentication required/i);
  }, 60_000);
});
