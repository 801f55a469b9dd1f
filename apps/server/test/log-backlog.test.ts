/**
 * A log reader that stops reading must not grow the server: with stdout stalled, log lines
 * beyond `log.maxBuffer` are dropped and counted (regcache_log_lines_dropped_total), requests
 * are still answered, and once stdout is read again a warn line says how many were lost.
 * Every request line is either delivered or counted as dropped. A warn line logged while the
 * backlog is full of request lines is not dropped (it has WARN_RESERVE times the room).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, tempDir, type RunningRegistry } from '@regcache/testkit';
import { runServer, type ServerProcess } from './spawn.js';

const REQUESTS = 3000;
const CONCURRENCY = 16;
const TOKEN = 'log-backlog-test-token-0123456789';

async function pingMany(address: string, count: number): Promise<number[]> {
  const agent = new Agent({ connections: CONCURRENCY });
  const statuses: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next++ < count) {
      const res = await request(`http://${address}/v2/`, { dispatcher: agent, headers: { authorization: `Bearer ${TOKEN}` } });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await agent.close();
  }
  return statuses;
}

async function droppedMetric(admin: string): Promise<number> {
  const res = await request(`http://${admin}/metrics`);
  const text = await res.body.text();
  const line = /^regcache_log_lines_dropped_total (\d+)$/m.exec(text);
  if (line === null) throw new Error(`no regcache_log_lines_dropped_total in /metrics:\n${text.slice(0, 500)}`);
  return Number(line[1]);
}

describe('log backlog', () => {
  let upstream: RunningRegistry;
  let server: ServerProcess;

  beforeAll(async () => {
    upstream = await startRegistry();
    const dir = await tempDir('log-backlog-');
    const config = join(dir, 'regcache.json');
    await writeFile(config, JSON.stringify({ upstreams: [{ name: 'docker.io', url: upstream.url }], log: { maxBuffer: '64KiB' }, limits: { frontThreads: 0 }, auth: { tokens: [TOKEN] } }));
    server = await runServer(['--config', config, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--data', join(dir, 'data')]);
  }, 60_000);

  afterAll(async () => {
    server?.child.stdout?.resume();
    await server?.stop();
    await upstream?.stop();
  });

  it('drops and counts lines past log.maxBuffer while stdout is stalled, keeps a warn line, then reports them', async () => {
    const admin = String(server.lines.find((l) => l.msg === 'regcache listening')?.admin);
    expect(await droppedMetric(admin)).toBe(0);
    const before = server.lines.filter((l) => l.msg === 'request').length;

    server.child.stdout?.pause();
    const statuses = await pingMany(server.address, REQUESTS);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses).toHaveLength(REQUESTS);
    // 3000 lines of ≈ 200 bytes do not fit in a 64 KiB pipe and a 64 KiB buffer.
    const dropped = await droppedMetric(admin);
    expect(dropped).toBeGreaterThan(REQUESTS / 4);
    // Still stalled, the backlog full of request lines: a failed login logs a warn line.
    const refused = await request(`http://${server.address}/v2/`, { headers: { authorization: 'Bearer not-the-token' } });
    await refused.body.dump();
    expect(refused.statusCode).toBe(401);

    server.child.stdout?.resume();
    await expect.poll(() => server.lines.find((l) => l.msg?.toString().includes('log lines dropped')), { timeout: 10_000 }).toBeDefined();
    const report = server.lines.find((l) => String(l.msg).includes('log lines dropped')) as Record<string, unknown>;
    expect(report.level).toBe(40);
    expect(report.maxBuffer).toBe(64 * 1024);
    expect(report.droppedLinesTotal).toBeGreaterThanOrEqual(dropped);
    expect(server.lines.find((l) => l.msg === 'client authentication failed')).toMatchObject({ level: 40, reason: expect.any(String) });
    // Nothing is lost silently: each ping's line arrived or was counted (the admin's /metrics
    // calls log a line each too, which may be among the dropped).
    await sleep(200);
    const delivered = server.lines.filter((l) => l.msg === 'request' && l.path === '/v2/').length - before;
    expect(delivered).toBeGreaterThan(0);
    expect(delivered + Number(report.droppedLinesTotal)).toBeGreaterThanOrEqual(REQUESTS);
    expect(delivered + Number(report.droppedLinesTotal)).toBeLessThanOrEqual(REQUESTS + 4);
  }, 60_000);
});
