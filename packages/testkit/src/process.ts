/**
 * Child processes the kit starts: output captured line by line, a stop() that escalates
 * SIGTERM → SIGKILL, and a watchdog so no child outlives the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { killQuietly, onProcessExit } from './cleanup.js';

export interface ManagedProcess {
  readonly pid: number;
  /** Resolves with the exit code (or null when killed by a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  isRunning(): boolean;
  /** SIGTERM, wait for exit, SIGKILL after graceMs (default 5000). */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with every complete line the process writes to stdout or stderr. */
  onLine?: (line: string) => void;
}

/**
 * A `sh` that waits for EOF on its stdin (a pipe from this process) and then SIGKILLs the
 * child. The pipe closes however this process dies, SIGKILL included.
 */
function startWatchdog(childPid: number): ChildProcess {
  const watchdog = spawn('sh', ['-c', 'read _unused; kill -9 "$1" 2>/dev/null', 'regcache-watchdog', String(childPid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => undefined);
  watchdog.stdin?.on('error', () => undefined);
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  return watchdog;
}

function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString('utf8');
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      onLine(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  };
}

/** Spawns a long-running process (a server); resolves once it has a pid. */
export function spawnManaged(command: string, args: string[], opts: SpawnOptions = {}): Promise<ManagedProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.once('error', reject);
    child.once('spawn', () => {
      const pid = child.pid;
      if (pid === undefined) {
        reject(new Error(`${command}: no pid`));
        return;
      }
      resolve(manage(child, pid, opts));
    });
  });
}

function manage(child: ChildProcess, pid: number, opts: SpawnOptions): ManagedProcess {
  const watchdog = startWatchdog(pid);
  const unregister = onProcessExit(() => killQuietly(pid));
  const onLine = opts.onLine ?? (() => undefined);
  child.stdout?.on('data', lineSplitter(onLine));
  child.stderr?.on('data', lineSplitter(onLine));
  let running = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running = false;
      unregister();
      killQuietly(watchdog.pid);
      resolve(code);
    });
  });
  async function stop(graceMs = 5000): Promise<void> {
    if (!running) return;
    killQuietly(pid, 'SIGTERM');
    const timer = setTimeout(() => killQuietly(pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  return { pid, exited, isRunning: () => running, stop };
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion and captures its output; never throws on a non-zero exit.
 * On timeout the process is SIGKILLed and the result has code 124 (like timeout(1)).
 * A command that cannot be started at all gives code 127.
 */
export function runCommand(command: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const unregister = onProcessExit(() => killQuietly(child.pid));
    const timer = setTimeout(() => {
      timedOut = true;
      killQuietly(child.pid);
    }, opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    let done = false;
    const finish = (code: number, extra = ''): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unregister();
      const err = Buffer.concat(stderr).toString('utf8') + extra;
      resolve({ code: timedOut ? 124 : code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: timedOut ? `${err}\n[testkit] ${command} timed out` : err });
    };
    child.once('error', (error) => finish(127, String(error)));
    child.once('close', (code) => finish(code ?? 1));
  });
}

/** runCommand that throws with the captured output on a non-zero exit. */
export async function runChecked(command: string, args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<CommandResult> {
  const result = await runCommand(command, args, opts);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stderr}${result.stdout}`);
  }
  return result;
}

/**
 * The Node flags in a script's shebang (`#!/usr/bin/env -S node --flag …`): tests and the bench
 * run the `regcache` bin with `process.execPath` (so the Node under test is the one running
 * them) and pass these, so the server runs as shipped.
 */
export function shebangNodeFlags(script: string): string[] {
  const first = script.split('\n', 1)[0] ?? '';
  if (!first.startsWith('#!')) return [];
  const words = first.slice(2).trim().split(/\s+/);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  return node < 0 ? [] : words.slice(node + 1);
}
