/**
 * Process-exit cleanup for everything the kit starts: child processes are SIGKILLed and
 * temp dirs removed when the test process exits (normally, via process.exit, or on
 * SIGINT/SIGTERM/SIGHUP). Each child also gets a shell watchdog (see process.ts) so it dies
 * even when this process is SIGKILLed.
 */
import { rmSync } from 'node:fs';

const exitHooks = new Set<() => void>();
let installed = false;

function runExitHooks(): void {
  for (const hook of [...exitHooks]) {
    try {
      hook();
    } catch {
      // best effort: the process is going away
    }
  }
  exitHooks.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runExitHooks);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runExitHooks();
      // Re-raise for the default action (exit) unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Registers a synchronous hook run when the process exits; returns its unregister function. */
export function onProcessExit(hook: () => void): () => void {
  install();
  exitHooks.add(hook);
  return () => {
    exitHooks.delete(hook);
  };
}

/** Kills a pid with SIGKILL, ignoring "no such process". */
export function killQuietly(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Removes a directory tree synchronously, ignoring errors (used from exit hooks). */
export function removeQuietly(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}
