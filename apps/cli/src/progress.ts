/**
 * Progress of a long verb on stderr: a redrawn bar on a terminal, plain lines otherwise
 * (one per tenth of the way, so a log stays short). stdout is left for the result.
 */
import { formatBytes } from '@regcache/proxy-core';

export interface ProgressUpdate {
  done: number;
  total: number;
  bytes?: number;
  totalBytes?: number;
}

export interface Progress {
  update(p: ProgressUpdate): void;
  /** Ends the bar (a newline on a terminal). */
  finish(): void;
}

const WIDTH = 30;

function describe(label: string, p: ProgressUpdate): string {
  const bytes = p.bytes === undefined ? '' : `  ${formatBytes(p.bytes)}${p.totalBytes === undefined ? '' : ` of ${formatBytes(p.totalBytes)}`}`;
  return `${label}  ${p.done}/${p.total}${bytes}`;
}

function fraction(p: ProgressUpdate): number {
  if (p.totalBytes !== undefined && p.totalBytes > 0 && p.bytes !== undefined) return Math.min(1, p.bytes / p.totalBytes);
  return p.total === 0 ? 1 : Math.min(1, p.done / p.total);
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let drawn = false;
  let lastStep = -1;
  return {
    update(p) {
      const f = fraction(p);
      if (tty) {
        const filled = Math.round(f * WIDTH);
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%  ${describe(label, p)}\x1b[K`);
        drawn = true;
        return;
      }
      const step = Math.floor(f * 10);
      if (step === lastStep) return;
      lastStep = step;
      stream.write(`${describe(label, p)} (${Math.floor(f * 100)}%)\n`);
    },
    finish() {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/**
 * Runs `operation` with a progress display and ends the display however the operation ends. On
 * a terminal the bar has no newline until finish(): an operation that failed midway (a server
 * that broke off, an error line in its stream) must not leave it open, or the error message —
 * and then the shell prompt — lands on the bar's line.
 */
export async function withProgress<T>(label: string, operation: (progress: Progress) => Promise<T>, stream: NodeJS.WriteStream = process.stderr): Promise<T> {
  const progress = createProgress(label, stream);
  try {
    return await operation(progress);
  } finally {
    progress.finish();
  }
}
