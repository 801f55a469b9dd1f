/**
 * Signals that arrive while the server is still starting (opening and checking its store,
 * starting its front threads). A signal during start-up is
 * held: the server finishes starting, then shuts down cleanly, exit 0 — not killed mid-start
 * with the store half-open. The moment is found from the store's own debug line, which comes
 * before the listeners and front threads are up.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@regcache/testkit';
import { spawnBin } from './spawn.js';

type Line = Record<string, unknown>;

/** Starts the bin at debug level and sends `signals` once `when` matches a line; resolves with the exit code and lines. */
async function signalDuringStart(signals: NodeJS.Signals[], when: (line: Line) => boolean): Promise<{ code: number | null; lines: Line[] }> {
  const child = spawnBin(['--listen', '127.0.0.1:0', '--data', await tempDir('start-signal'), '--upstream', 'http://127.0.0.1:9', '--log-level', 'debug'], {});
  const lines: Line[] = [];
  const exited = once(child, 'exit') as Promise<[number | null]>;
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as Line;
    lines.push(line);
    if (when(line)) for (const signal of signals) child.kill(signal);
  });
  const [code] = await exited;
  return { code, lines };
}

const recovered = (line: Line): boolean => String(line.msg).startsWith('blob-store: recovery found nothing');

describe('signals around start-up', () => {
  it('a SIGTERM during start-up is held: the server starts, then shuts down cleanly, exit 0', async () => {
    const { code, lines } = await signalDuringStart(['SIGTERM'], recovered);
    expect(code).toBe(0);
    const messages = lines.map((l) => String(l.msg));
    expect(messages.indexOf('shutting down')).toBeGreaterThan(messages.indexOf('regcache listening'));
    expect(messages.indexOf('regcache listening')).toBeGreaterThan(-1);
  }, 30_000);

  it('two signals during start-up exit at once, exit 1', async () => {
    const { code, lines } = await signalDuringStart(['SIGINT', 'SIGTERM'], recovered);
    expect(code).toBe(1);
    expect(lines.some((l) => l.msg === 'shutting down')).toBe(false);
  }, 30_000);
});
