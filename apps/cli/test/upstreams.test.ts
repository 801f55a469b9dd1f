/**
 * `regcache-admin upstreams` against real upstreams: the registry itself, the same registry
 * behind a TLS front with and without its CA configured (and as docker.io's mirror, with its CA
 * from a file), and a port nothing listens on. With
 * the server running (through its admin socket) and without (the CLI opens the cache itself),
 * the same verdicts; exit 1 because two of the four cannot be used, each with its reason. And
 * registries that want credentials (Basic and token auth): configured right, configured wrong
 * (a failure saying so), and not configured (passes with a note: public repositories may pull).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRegistry, startTlsFront, tempDir, TEST_CA_PEM, type RunningRegistry, type TlsFront } from '@regcache/testkit';
import type { UpstreamCheck } from '@regcache/proxy-core';
import { runCli, startServer } from './helpers.js';

describe('regcache-admin upstreams', () => {
  let registry: RunningRegistry;
  let basicAuth: RunningRegistry;
  let tokenAuth: RunningRegistry;
  let front: TlsFront;
  let config: string;

  beforeAll(async () => {
    registry = await startRegistry();
    basicAuth = await startRegistry({ auth: 'basic', username: 'puller', password: 'right' });
    tokenAuth = await startRegistry({ auth: 'token', username: 'puller', password: 'right' });
    front = await startTlsFront(registry.url);
    const dir = await tempDir('cli-upstreams');
    const ca = join(dir, 'ca.pem');
    await writeFile(ca, TEST_CA_PEM);
    config = join(dir, 'regcache.yaml');
    const upstreams = [
      ['docker.io', registry.url, `\n    mirrors:\n      - url: ${front.url}\n        caFile: ${ca}`],
      ['tls.internal', front.url, `\n    caFile: ${ca}`],
      ['untrusted.internal', front.url, ''],
      ['gone.internal', `http://127.0.0.1:${await freePort()}`, ''],
      ['basic.right', basicAuth.url, '\n    username: puller\n    password: right'],
      ['basic.wrong', basicAuth.url, '\n    username: puller\n    password: wrong'],
      ['basic.none', basicAuth.url, ''],
      ['token.right', tokenAuth.url, '\n    username: puller\n    password: right'],
      ['token.wrong', tokenAuth.url, '\n    username: puller\n    password: wrong'],
      ['token.none', tokenAuth.url, ''],
    ].map(([name, url, extra]) => `  - name: ${name}\n    url: ${url}${extra}`);
    await writeFile(config, `listen: 127.0.0.1:0\nstorage:\n  path: ${join(dir, 'data')}\nupstreams:\n${upstreams.join('\n')}\n`);
  }, 60_000);

  afterAll(async () => {
    await front?.stop();
    await registry?.stop();
    await basicAuth?.stop();
    await tokenAuth?.stop();
  });

  const verdicts = (checks: UpstreamCheck[]): Array<[string, boolean, number | undefined, string]> =>
    checks.map((c) => [c.name, c.ok, c.status, c.ownCa ? `${c.via}+ca` : c.via]);

  it('says which upstreams answer GET /v2/ and why the others do not, through the server and directly', async () => {
    const server = await startServer(config);
    const viaServer = await runCli(['upstreams', '--json', '--config', config]);
    const table = await runCli(['upstreams', '--config', config]);
    await server.stop();
    const direct = await runCli(['upstreams', '--json', '--config', config]);
    for (const run of [viaServer, table, direct]) expect(run.code, run.stderr).toBe(1);
    const [served, opened] = [viaServer, direct].map((run) => JSON.parse(run.stdout) as UpstreamCheck[]);
    const expected = [
      ['docker.io', true, 200, 'direct'],
      [new URL(front.url).host, true, 200, 'direct+ca'],
      ['tls.internal', true, 200, 'direct+ca'],
      ['untrusted.internal', false, undefined, 'direct'],
      ['gone.internal', false, undefined, 'direct'],
      ['basic.right', true, 200, 'direct'],
      ['basic.wrong', false, undefined, 'direct'],
      ['basic.none', true, 401, 'direct'],
      ['token.right', true, 200, 'direct'],
      ['token.wrong', false, undefined, 'direct'],
      ['token.none', true, 401, 'direct'],
    ];
    expect(verdicts(served as UpstreamCheck[])).toEqual(expected);
    expect(verdicts(opened as UpstreamCheck[])).toEqual(expected);
    const detail = (name: string): string | undefined => served?.find((c) => c.name === name)?.detail;
    expect(detail('untrusted.internal')).toMatch(/certificate/);
    expect(detail('gone.internal')).toMatch(/ECONNREFUSED/);
    for (const name of ['basic.wrong', 'token.wrong']) expect(detail(name)).toBe(`upstream ${name} refused regcache's configured credentials (401): check its username, password or token`);
    for (const name of ['basic.none', 'token.none']) expect(detail(name)).toMatch(/asks for credentials and none are configured/);
    expect(table.stdout).toMatch(/^upstream\s+url\s+via\s+result\s+status\s+time\s+detail$/m);
    expect(table.stdout).toMatch(/^untrusted\.internal\s.*FAILED\s.*certificate/m);
    expect(table.stdout).toContain(`${new URL(front.url).host} (mirror of docker.io)`);
  }, 60_000);
});
