/**
 * Slowloris: the real server with `limits.headersTimeout: 1s`, `requestTimeout: 2s`,
 * `keepAliveTimeout: 2s`. A client that sends its headers a byte at a time, one that trickles a
 * request body, and 200 (1000 in the long suite) that connect and send nothing are all cut by those limits — while the
 * server keeps answering others, and its descriptors return to the baseline. A slow *download*
 * is not a slow request: a client that holds a 32 MiB blob's response for longer than every
 * limit still gets all of it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { pushBlob, reportFigures, scaled, startRegistry, tempDir, type RunningRegistry } from '@regcache/testkit';
import { runServer, type ServerProcess } from '../spawn.js';
import { writeConfig } from './config-file.js';
import { countFds } from './process-stats.js';
import { rawConnect, type RawConnection } from './raw-client.js';

const MiB = 1024 * 1024;
/** Connections that never send a byte (REGCACHE_IDLE_CONNECTIONS). */
const IDLE_CONNECTIONS = scaled('IDLE_CONNECTIONS', 200, 1000);
/** Connections opened at once, well below the listen backlog. */
const CONNECT_WAVE = 100;

describe('slow clients are cut by the connection limits', () => {
  let upstream: RunningRegistry;
  let server: ServerProcess;
  let digest: string;
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    upstream = await startRegistry();
    digest = await pushBlob(upstream, 'slow/big', randomBytes(32 * MiB));
    const config = await writeConfig({
      listen: '127.0.0.1:0',
      storage: { path: await tempDir('slow-data') },
      upstreams: [{ name: 'docker.io', url: upstream.url }],
      limits: { headersTimeout: '1s', requestTimeout: '2s', keepAliveTimeout: '2s' },
    });
    server = await runServer(['--config', config]);
  }, 60_000);

  afterAll(async () => {
    reportFigures('slow-clients', figures);
    await server?.stop();
    await upstream?.stop();
  });

  it('cuts a client that sends its headers one byte at a time', async () => {
    const conn = await rawConnect(server.address);
    void conn.trickle(`GET /v2/ HTTP/1.1\r\nHost: cache\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`, 50);
    const closed = await conn.closed;
    figures.slowHeadersCutMs = closed.afterMs;
    expect(closed.afterMs).toBeLessThan(3000);
    expect(closed.received).not.toMatch(/^HTTP\/1\.1 200/);
  });

  it('cuts a client that trickles a request body', async () => {
    const conn = await rawConnect(server.address);
    conn.socket.write('POST /v2/slow/big/blobs/uploads/ HTTP/1.1\r\nHost: cache\r\nContent-Length: 100000\r\n\r\n');
    void conn.trickle('x'.repeat(1000), 50);
    const closed = await conn.closed;
    figures.slowBodyCutMs = closed.afterMs;
    expect(closed.afterMs).toBeLessThan(4000);
  });

  it(`closes ${IDLE_CONNECTIONS} connections that never send a byte, serving others meanwhile`, async () => {
    const pid = server.child.pid as number;
    const baseline = await countFds(pid);
    // In waves: a burst past the listen backlog (Node's 511) has its overflow's SYNs dropped and
    // retried a second later, by when the first connections are already cut.
    const idle: RawConnection[] = [];
    while (idle.length < IDLE_CONNECTIONS) {
      const wave = Math.min(CONNECT_WAVE, IDLE_CONNECTIONS - idle.length);
      idle.push(...(await Promise.all(Array.from({ length: wave }, () => rawConnect(server.address)))));
    }
    // Counted by their ports: a connection of an earlier test may still be closing.
    const ports = idle.map((c) => c.socket.localPort ?? 0);
    await expect.poll(async () => (await countFds(pid, ports)).toPorts, { timeout: 2000, interval: 20 }).toBe(IDLE_CONNECTIONS);
    const meanwhile = await request(`http://${server.address}/v2/`);
    await meanwhile.body.dump();
    expect(meanwhile.statusCode).toBe(200);
    const closed = await Promise.all(idle.map((c) => c.closed));
    figures.idleConnections = IDLE_CONNECTIONS;
    figures.idleCutMaxMs = Math.max(...closed.map((c) => c.afterMs));
    expect(figures.idleCutMaxMs).toBeLessThan(3000);
    await expect.poll(async () => (await countFds(pid)).total, { timeout: 5000 }).toBeLessThanOrEqual(baseline.total);
  });

  it('closes an idle keep-alive connection after keepAliveTimeout', async () => {
    const conn = await rawConnect(server.address);
    conn.socket.write('GET /v2/ HTTP/1.1\r\nHost: cache\r\n\r\n');
    const closed = await conn.closed;
    figures.keepAliveClosedMs = closed.afterMs;
    expect(closed.received).toMatch(/^HTTP\/1\.1 200/);
    expect(closed.afterMs).toBeGreaterThan(1500);
    expect(closed.afterMs).toBeLessThan(5000);
  });

  it('never cuts a slow download: a response held for longer than every limit arrives whole', async () => {
    const url = `http://${server.address}/v2/slow/big/blobs/${digest}`;
    await (await request(url)).body.dump();
    const res = await request(url);
    await sleep(3500);
    const hash = createHash('sha256');
    for await (const chunk of res.body) hash.update(chunk as Buffer);
    expect(`sha256:${hash.digest('hex')}`).toBe(digest);
  });
});
