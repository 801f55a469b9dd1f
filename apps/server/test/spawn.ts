/** Runs the built `regcache` bin as a real process and reads its pino log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { onProcessExit, shebangNodeFlags } from '@regcache/testkit';

export const BIN = fileURLToPath(new URL('../bin/regcache.js', import.meta.url));
/** The Node flags the bin runs with (its shebang), passed along: the server under test runs as shipped. */
const BIN_NODE_FLAGS = shebangNodeFlags(readFileSync(BIN, 'utf8'));

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>>;
  readonly stderr: () => string;
  /** The `host:port` from the "regcache listening" line. */
  readonly address: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The child is SIGKILLed if the test process exits first. `wrap` runs it under another command (e.g. strace). */
export function spawnBin(args: string[], env: NodeJS.ProcessEnv, wrap: readonly string[] = []): ChildProcess {
  const [command, ...prefix] = [...wrap, process.execPath];
  const child = spawn(command as string, [...prefix, ...BIN_NODE_FLAGS, BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const unregister = onProcessExit(() => void child.kill('SIGKILL'));
  child.once('exit', unregister);
  return child;
}

/**
 * Starts the bin and resolves once it listens. `keepLogs: false` stops reading log lines after
 * that (stdout is still drained): a load test's hundreds of thousands of request lines would
 * otherwise cost the test process more than the server. With `wrap`, `child` is the wrapper.
 */
export async function runServer(args: string[], env: NodeJS.ProcessEnv = {}, opts: { keepLogs?: boolean; wrap?: readonly string[] } = {}): Promise<ServerProcess> {
  const child = spawnBin(args, env, opts.wrap);
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const reader = createInterface({ input: child.stdout! });
  const listening = new Promise<string>((resolve, reject) => {
    reader.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === 'regcache listening') resolve(String(entry.listen));
      } catch {
        lines.push({ raw: line });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  const address = await listening;
  if (opts.keepLogs === false) {
    reader.close();
    child.stdout?.resume();
  }
  return {
    child,
    lines,
    stderr: () => stderr,
    address,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/** Runs the bin to completion (for start-up failures); one that is still running after `timeoutMs` is killed (code null). */
export async function runToExit(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnBin(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
