/**
 * `regcache-admin` on a terminal: the long verbs draw a progress bar on stderr with no newline
 * until the operation ends. Run under `script` (util-linux), so stderr is a pseudo-terminal as
 * an operator's is, against a stand-in admin socket that sends one progress line and then an
 * error line — a server that failed midway. The error must start on a line of its own, not
 * after the bar (and then the shell prompt after it).
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand, tempDir } from '@regcache/testkit';
import { BIN } from './helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** An admin socket that is healthy and answers every operation with progress, then a failure. */
async function failingAdmin(data: string): Promise<void> {
  const server = createServer((req, res) => {
    if (req.method === 'GET') return void res.end(JSON.stringify({ status: 'ok' }));
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(`${JSON.stringify({ progress: { done: 1, total: 6, bytes: 561 } })}\n`);
    res.end(`${JSON.stringify({ error: { kind: 'internal', message: 'disk on fire' } })}\n`);
  });
  await new Promise<void>((resolve) => server.listen(join(data, 'admin.sock'), resolve));
  servers.push(server);
}

const quote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;

/** `regcache-admin ARGS` with stdout and stderr on a pseudo-terminal; the output as the terminal got it. */
function onTerminal(args: string[]): ReturnType<typeof runCommand> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return runCommand('script', ['-qec', command, '/dev/null'], { timeoutMs: 60_000 });
}

describe('regcache-admin on a terminal', () => {
  it.each([['gc'], ['verify'], ['rm', 'team/a:v1'], ['warm', 'team/a:v1']])('%s: a failure midway ends the progress bar before the error', async (...args) => {
    const data = await tempDir('cli-tty');
    await failingAdmin(data);
    const result = await onTerminal([...args, '--data', data]);
    expect(result.code, result.stdout).toBe(1);
    // Drawn as a bar (so this did run on a terminal), then ended: the pty turns the newline into \r\n.
    expect(result.stdout).toMatch(/\r\[#*\.*\]\s+16%\s+\S.* 1\/6 {2}561 B\x1b\[K\r\n/);
    expect(result.stdout).toMatch(/(^|\n)regcache-admin: the server failed: disk on fire\r\n$/);
  });
});
