import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'undici';
import { freePort, pushBlob, registryRequest, startRegistry, type RunningRegistry } from '../src/index.js';

const started: RunningRegistry[] = [];
afterAll(async () => {
  await Promise.all(started.map((r) => r.stop()));
});

async function start(opts: Parameters<typeof startRegistry>[0]): Promise<RunningRegistry> {
  const registry = await startRegistry(opts);
  started.push(registry);
  return registry;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function watchdogRunning(childPid: number): boolean {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`regcache-watchdog\0${childPid}\0`);
      } catch {
        return false;
      }
    });
}

/** Polls (up to 1 s) until the watchdog shell for childPid is running === wanted; returns the final state. */
async function watchdogOf(childPid: number, wanted = false): Promise<boolean> {
  for (let i = 0; i < 20 && watchdogRunning(childPid) !== wanted; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return watchdogRunning(childPid);
}

describe('freePort', () => {
  it('returns a bindable loopback port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(1024);
  });
});

describe('startRegistry', () => {
  it('auth none: /v2/ answers 200', async () => {
    const registry = await start({});
    expect(registry.url).toBe(`http://127.0.0.1:${registry.port}`);
    expect(registry.host).toBe(`127.0.0.1:${registry.port}`);
    const res = await request(`${registry.url}/v2/`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    await res.body.dump();
  });

  it('auth basic: /v2/ answers 401 with a Basic challenge, 200 with the credentials', async () => {
    const registry = await start({ auth: 'basic', username: 'alice', password: 's3cret' });
    const anonymous = await request(`${registry.url}/v2/`);
    await anonymous.body.dump();
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Basic realm="regcache-testkit"');
    const wrong = await request(`${registry.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` } });
    await wrong.body.dump();
    expect(wrong.statusCode).toBe(401);
    const ok = await request(`${registry.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` } });
    await ok.body.dump();
    expect(ok.statusCode).toBe(200);
  });

  it('auth token: /v2/ answers 401 with a Bearer challenge naming the token server', async () => {
    const registry = await start({ auth: 'token' });
    const tokenServer = registry.tokenServer;
    expect(tokenServer).toBeDefined();
    const res = await request(`${registry.url}/v2/`);
    await res.body.dump();
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${tokenServer?.url ?? ''}",service="regcache-testkit-registry"`);
    const scoped = await request(`${registry.url}/v2/some/repo/manifests/latest`);
    await scoped.body.dump();
    expect(scoped.headers['www-authenticate']).toContain('scope="repository:some/repo:pull"');
  });

  it('countRequests counts a GET once settled; the kit’s own requests are left out', async () => {
    const registry = await start({});
    const digest = await pushBlob(registry, 'count/me', Buffer.from('count me'));
    const path = `/v2/count/me/blobs/${digest}`;
    const res = await request(`${registry.url}${path}`);
    expect(await res.body.text()).toBe('count me');
    await registry.settle();
    expect(registry.countRequests('GET', path)).toBe(1);
    expect(registry.countRequests('get', /\/blobs\/sha256:/)).toBe(1);
    expect(registry.countRequests('HEAD', path)).toBe(0);
    expect(registry.requests().find((e) => e.path === path)?.status).toBe(200);
    expect(registry.requests({ includeInternal: true }).some((e) => e.method === 'PUT')).toBe(true);
    registry.resetRequests();
    expect(registry.countRequests('GET', path)).toBe(0);
  });

  it('stop() ends the process; start() serves the same content on the same port', async () => {
    const registry = await start({});
    const digest = await pushBlob(registry, 'restart/me', Buffer.from('still here'));
    const pid = registry.pid;
    expect(pid).toBeTypeOf('number');
    await registry.stop();
    expect(registry.pid).toBeUndefined();
    expect(pidAlive(pid ?? -1)).toBe(false);
    expect(await watchdogOf(pid ?? -1)).toBe(false);
    await expect(request(`${registry.url}/v2/`)).rejects.toThrow();
    await registry.start();
    expect(registry.pid).not.toBe(pid);
    const res = await registryRequest(registry, { method: 'GET', path: `/v2/restart/me/blobs/${digest}`, repository: 'restart/me' });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('still here');
  });

  it('token mode: stop() also stops the token server, start() brings both back', async () => {
    const registry = await start({ auth: 'token' });
    const tokenUrl = registry.tokenServer?.url ?? '';
    await registry.stop();
    await expect(request(tokenUrl)).rejects.toThrow();
    await registry.start();
    const res = await request(`${tokenUrl}?service=regcache-testkit-registry`, { headers: { authorization: `Basic ${Buffer.from('testuser:testpass').toString('base64')}` } });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
  });

  it('has a watchdog per child while running', async () => {
    const registry = await start({});
    expect(await watchdogOf(registry.pid ?? -1, true)).toBe(true);
  });

  it('waitForRequest resolves once the line is logged; deleteEnabled: false refuses DELETE', async () => {
    const registry = await start({ deleteEnabled: false });
    const waiting = registry.waitForRequest('DELETE', /^\/v2\/x\/manifests\//, 5000);
    const res = await request(`${registry.url}/v2/x/manifests/sha256:${'0'.repeat(64)}`, { method: 'DELETE' });
    await res.body.dump();
    await waiting;
    expect(res.statusCode).toBe(405);
    expect(registry.requests().at(-1)).toMatchObject({ method: 'DELETE', status: 405 });
  });

  it('takes a fixed port and data dir', async () => {
    const port = await freePort();
    const first = await start({ port });
    expect(first.port).toBe(port);
    const digest = await pushBlob(first, 'shared/dir', Buffer.from('shared'));
    await first.stop();
    const second = await start({ port, dataDir: first.dataDir });
    const res = await registryRequest(second, { method: 'HEAD', path: `/v2/shared/dir/blobs/${digest}` });
    expect(res.status).toBe(200);
  });
});
