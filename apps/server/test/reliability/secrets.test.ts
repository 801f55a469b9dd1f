/**
 * Secrets never leak: the real server with upstream credentials (a token-auth registry, its
 * password from the environment; a Basic-auth registry, its password from a file) and client
 * auth (an htpasswd user, a token from a file, one from the environment), logging at debug.
 * Everything is exercised — pulls with skopeo and by HTTP, client auth failures, upstream
 * auth failures, an upstream that is down, bad configurations, the admin API (/healthz,
 * /readyz, /metrics, /stats, /ls, gc, verify, warm) and `regcache-admin` through the server
 * and directly — and every byte regcache said (logs, stderr, responses, admin and CLI output)
 * is searched for the secrets, their Base64 and percent-encodings, and for any JWT.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { pushSmallImage, reportFigures, skopeoPull, startRegistry, tempDir, type RunningRegistry, type SmallImage } from '@regcache/testkit';
import { runServer, runToExit, type ServerProcess } from '../spawn.js';
import { writeConfig } from './config-file.js';
import { runCli } from './admin-cli.js';
import { adminCall, createCapture, makeSecrets, writeSecretFiles } from './secrets-fixture.js';

const USERS = ['alice', 'bob', 'ci', 'robot-a', 'robot-b'];
const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json';
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('credentials never appear in anything regcache says', () => {
  const secrets = makeSecrets();
  const capture = createCapture();
  let upstreamA: RunningRegistry;
  let upstreamB: RunningRegistry;
  let appA: SmallImage;
  let toolB: SmallImage;
  let files: Awaited<ReturnType<typeof writeSecretFiles>>;
  let data: string;
  const env = { REGCACHE_UPSTREAM_A_TEST_PASSWORD: secrets.upstreamA, REGCACHE_AUTH_TOKENS: secrets.envToken };

  const configFor = (overrides: { urlB?: string; usernameA?: string | null; htpasswd?: string } = {}): Promise<string> =>
    writeConfig({
      listen: '127.0.0.1:0',
      storage: { path: data },
      log: { level: 'debug' },
      upstreams: [
        { name: 'a.test', url: upstreamA.url, default: true, ...(overrides.usernameA === null ? {} : { username: overrides.usernameA ?? 'robot-a' }) },
        { name: 'b.test', url: overrides.urlB ?? upstreamB.url, username: 'robot-b', passwordFile: files.passwordFile },
      ],
      auth: { htpasswd: overrides.htpasswd ?? files.htpasswd, tokensFile: files.tokensFile },
    });

  async function get(label: string, url: string, authorization?: string): Promise<number> {
    const res = await request(url, { headers: { accept: MANIFEST_ACCEPT, ...(authorization ? { authorization } : {}) } });
    capture.add(label, `${res.statusCode} ${JSON.stringify(res.headers)}\n${await res.body.text()}`);
    return res.statusCode;
  }

  function record(label: string, server: ServerProcess): void {
    capture.add(`${label} stdout`, JSON.stringify(server.lines));
    capture.add(`${label} stderr`, server.stderr());
  }

  beforeAll(async () => {
    upstreamA = await startRegistry({ auth: 'token', username: 'robot-a', password: secrets.upstreamA });
    upstreamB = await startRegistry({ auth: 'basic', username: 'robot-b', password: secrets.upstreamB });
    appA = await pushSmallImage(upstreamA, 'secret/app', 'v1');
    await pushSmallImage(upstreamA, 'secret/app', 'uncached');
    toolB = await pushSmallImage(upstreamB, 'secret/tool', 'v1');
    await pushSmallImage(upstreamB, 'secret/tool', 'v2');
    files = await writeSecretFiles(secrets);
    data = await tempDir('secrets-data');
  }, 60_000);
  afterAll(async () => {
    await upstreamA?.stop();
    await upstreamB?.stop();
  });

  it('keeps every secret out of logs, errors, stats, metrics, admin and CLI output', async () => {
    const config = await configFor();
    const server = await runServer(['--config', config], env);
    const base = `http://${server.address}`;
    const socket = join(data, 'admin.sock');
    try {
      expect((await skopeoPull(`${server.address}/secret/app:v1`, { creds: `alice:${secrets.clientPassword}` })).code).toBe(0);
      expect((await skopeoPull(`${server.address}/b.test/secret/tool:v1`, { creds: `ci:${secrets.clientToken}` })).code).toBe(0);
      expect(await get('pull by bearer', `${base}/v2/secret/app/manifests/${appA.digest}`, `Bearer ${secrets.envToken}`)).toBe(200);
      expect(await get('blob by basic', `${base}/v2/b.test/secret/tool/blobs/${toolB.blobs[0]}`, basic('alice', secrets.clientPassword))).toBe(200);
      for (const [label, auth] of [
        ['wrong password', basic('alice', 'wrong')],
        ['unknown user', basic('bob', secrets.clientPassword)],
        ['password as a token', `Bearer ${secrets.clientPassword}`],
        ['malformed basic', `${basic('alice', secrets.clientPassword)}!`],
        ['no credentials', undefined],
        ['a token as the user name', basic(secrets.clientToken, 'x')],
      ] as const) {
        expect(await get(label, `${base}/v2/secret/app/manifests/v1`, auth)).toBe(401);
      }
      // Clients put what they like in a query string; its values are not logged (the API's own are).
      const query = `password=${encodeURIComponent(secrets.clientPassword)}&token=${secrets.envToken}`;
      expect(await get('secrets in a query', `${base}/v2/secret/app/manifests/v1?${query}`, basic('alice', secrets.clientPassword))).toBe(200);
      expect(await get('secrets in a query, refused', `${base}/v2/secret/app/manifests/v1?${query}`)).toBe(401);
      await upstreamB.stop();
      expect(await get('upstream down', `${base}/v2/b.test/secret/tool/manifests/v2`, basic('alice', secrets.clientPassword))).toBe(503);
      await upstreamB.start();
      for (const path of ['/healthz', '/readyz', '/metrics', '/stats', '/ls', '/ls?repo=a.test/secret/app']) capture.add(`admin GET ${path}`, await adminCall(socket, 'GET', path));
      capture.add('admin gc', await adminCall(socket, 'POST', '/gc', { dryRun: true }));
      capture.add('admin verify', await adminCall(socket, 'POST', '/verify', {}));
      capture.add('admin warm', await adminCall(socket, 'POST', '/warm', { images: ['secret/app:v1', 'b.test/secret/tool:v2'] }));
      for (const args of [['stats'], ['stats', '--json'], ['ls'], ['gc', '--dry-run'], ['verify'], ['warm', 'b.test/secret/tool:v1']]) {
        const out = await runCli([...args, '--config', config], env);
        expect(out.code, out.text).toBe(0);
        capture.add(`cli ${args.join(' ')} (server)`, out.text);
      }
    } finally {
      expect(await server.stop()).toBe(0);
      record('server', server);
    }
    for (const args of [['stats', '--json'], ['ls'], ['verify'], ['gc', '--dry-run'], ['warm', 'secret/app:v1']]) {
      const out = await runCli([...args, '--config', config], env);
      expect(out.code, out.text).toBe(0);
      capture.add(`cli ${args.join(' ')} (direct)`, out.text);
    }
  }, 120_000);

  it('keeps them out of upstream auth failures and bad configurations too', async () => {
    const wrong = await runServer(['--config', await configFor()], { ...env, REGCACHE_UPSTREAM_A_TEST_PASSWORD: secrets.wrongUpstream });
    try {
      expect(await get('wrong upstream password', `http://${wrong.address}/v2/secret/app/manifests/uncached`, basic('alice', secrets.clientPassword))).toBe(503);
    } finally {
      expect(await wrong.stop()).toBe(0);
      record('wrong upstream credentials', wrong);
    }
    const bad = [
      ['bad upstream url', await configFor({ urlB: 'ftp://robot-b@example.invalid' })],
      ['credentials in an upstream url', await configFor({ urlB: `http://robot-b:${secrets.upstreamB}@${upstreamB.host}` })],
      ['password without a username', await configFor({ usernameA: null })],
      ['missing htpasswd', await configFor({ htpasswd: '/nonexistent/htpasswd' })],
    ] as const;
    for (const [label, config] of bad) {
      const result = await runToExit(['--config', config], env, 10_000);
      expect(result.code, label).toBe(2);
      capture.add(`bad config: ${label}`, `${result.stdout}\n${result.stderr}`);
    }
    // The capture holds what it should: auth failures with their user, upstream errors, metrics, CLI tables.
    for (const expected of ['client authentication failed', '"user":"bob"', 'UNAUTHORIZED', 'regcache_requests_total', 'hit ratio', 'upstreams.1.url', "refused regcache's configured credentials", 'password=…']) {
      expect(capture.contains(expected), expected).toBe(true);
    }
    const leaks = capture.leaks(secrets, USERS, [files.hash]);
    reportFigures('secrets', { secrets: Object.keys(secrets).length + 1, sourcesSearched: capture.sources(), bytesSearched: capture.bytes(), leaks: leaks.length });
    expect(leaks).toEqual([]);
  }, 60_000);
});
