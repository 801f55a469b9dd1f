/**
 * What the real server does with hostile input, at the system-call level: it runs under strace
 * (open, openat, openat2, connect) while the HTTP fuzzer's requests — traversal toward a canary
 * file outside the data dir, `ns=`, path prefixes, Host headers and absolute-form targets naming
 * a trap server — arrive over raw sockets, mixed with real pulls. After start-up it opens no
 * file outside its data dir and connects nowhere but its configured upstream; no response
 * carries the canary; nothing is answered 5xx; the process is alive at the end. (Start-up ends
 * after one real pull: code loaded on the first upstream request is loaded then.)
 *
 * Scale: REGCACHE_AUDIT_N requests (3 000 by default, 20 000 in the long suite).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCEPT_ALL_MANIFESTS, fuzzRequest, onProcessExit, prng, pushSmallImage, rawExchange, reportFigures, scaled, startRegistry, tempDir, type RunningRegistry, type SmallImage } from '@regcache/testkit';
import { runServer, type ServerProcess } from '../spawn.js';
import { complete, hashedGet } from '@regcache/testkit';
import { STRACE_ARGS, syscallsSince, tracee } from './strace-log.js';

const COUNT = scaled('AUDIT_N', 3_000, 20_000);
const CONCURRENCY = 8;

describe(`system calls under ${COUNT} hostile requests (strace)`, () => {
  let upstream: RunningRegistry;
  let image: SmallImage;
  let trap: Server;
  let trapConnections = 0;
  let server: ServerProcess;
  let serverPid: number;
  let data: string;
  let traceLog: string;
  let listeningAt: number;
  const canary = `canary-${randomBytes(16).toString('hex')}`;
  let canaryPath: string;
  let trapAddress: string;

  beforeAll(async () => {
    upstream = await startRegistry();
    image = await pushSmallImage(upstream, 'audit/app', 'v1');
    trap = createServer((socket) => {
      trapConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    const address = trap.address();
    trapAddress = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    canaryPath = join(await tempDir('audit-canary'), 'secret.txt');
    await writeFile(canaryPath, canary);
    const dir = await tempDir('audit');
    data = join(dir, 'data');
    traceLog = join(dir, 'strace.log');
    server = await runServer(['--listen', '127.0.0.1:0', '--data', data, '--upstream', upstream.url], {}, { wrap: ['strace', ...STRACE_ARGS, '-o', traceLog], keepLogs: false });
    serverPid = await tracee(server.child.pid as number);
    // strace's own exit hook would leave its tracee running, detached.
    const traced = serverPid;
    onProcessExit(() => {
      try {
        process.kill(traced, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    // One pull first: code loaded lazily on the first upstream requests is start-up too — the
    // manifest comes through undici (its parser), the blob through the plain-http reader.
    const manifest = await fetch(`http://${server.address}/v2/${image.name}/manifests/${image.tag}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
    expect(manifest.status).toBe(200);
    await manifest.arrayBuffer();
    expect(complete(await hashedGet(`http://${server.address}/v2/${image.name}/blobs/${image.blobs[0]}`))).toBe(true);
    listeningAt = Date.now();
  }, 60_000);

  afterAll(async () => {
    // strace blocks fatal signals while it runs a program: stop the server, strace exits with it.
    if (serverPid !== undefined) process.kill(serverPid, 'SIGTERM');
    await server?.stop('SIGTERM');
    await new Promise((resolve) => trap?.close(resolve));
    await upstream?.stop();
  });

  it('opens nothing outside its data dir and connects only to its upstream', async () => {
    const port = Number(server.address.split(':')[1]);
    const rand = prng(Number(process.env.REGCACHE_FUZZ_SEED ?? 7));
    let sent = 0;
    let fiveHundreds = 0;
    let leaked = 0;
    let pulls = 0;
    const worker = async (): Promise<void> => {
      while (sent < COUNT) {
        sent++;
        if (sent % 100 === 0) {
          pulls += 1;
          expect(complete(await hashedGet(`http://${server.address}/v2/${image.name}/blobs/${image.blobs[1]}`))).toBe(true);
        }
        const { status, body } = await rawExchange(port, fuzzRequest(rand, { trap: trapAddress, canaryPath }));
        if (status >= 500) fiveHundreds++;
        if (body.includes(canary)) leaked++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    process.kill(serverPid, 0); // alive: throws ESRCH otherwise
    const calls = await syscallsSince(traceLog, listeningAt);
    // The runtime itself may read kernel-provided files (Node 24's V8 reads
    // /sys/devices/system/cpu/cpu0/tsc_freq_khz; glibc reads /proc/sys/vm/overcommit_memory the
    // first time it shrinks a thread's malloc arena, whenever that falls); no request can name
    // those. Everything else opened after start must be inside the data dir — and /proc only for
    // the process's own stat-like files: environ, cmdline, mem or fd would be a leak.
    const runtime = (path: string): boolean =>
      path.startsWith('/sys/') || path === '/proc/sys/vm/overcommit_memory' || /^\/proc\/(self|\d+)\/(stat|statm|status|cgroup|mountinfo)$/.test(path);
    const outside = [...new Set(calls.opened.filter((path) => !path.startsWith(`${data}/`) && !runtime(path)))];
    const elsewhere = [...new Set(calls.connected.filter((address) => address !== upstream.host))];
    reportFigures('syscall-audit', { requests: sent, pulls, opensAfterStart: calls.opened.length, opensOutsideDataDir: outside.length, connects: calls.connected.length, connectsElsewhere: elsewhere.length, trapConnections, canaryLeaks: leaked, fiveHundreds });
    expect(outside).toEqual([]);
    expect(elsewhere).toEqual([]);
    expect(trapConnections).toBe(0);
    expect(leaked).toBe(0);
    expect(fiveHundreds).toBe(0);
    // The trace sees the server at work: blob files opened in the data dir, the upstream connected (at the first pull).
    expect(calls.opened.some((path) => path.startsWith(join(data, 'blobs')))).toBe(true);
    expect((await syscallsSince(traceLog, 0)).connected).toContain(upstream.host);
  }, 120_000);
});
