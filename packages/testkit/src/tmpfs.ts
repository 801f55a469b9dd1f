/**
 * A small tmpfs for disk-full and read-only tests (needs root, as CI runs): mounted on a fresh
 * temp dir, resizable and remountable read-only while mounted, unmounted by `unmount()` — and
 * lazily at process exit if a test never got there.
 */
import { execFileSync } from 'node:child_process';
import { onProcessExit } from './cleanup.js';
import { runChecked } from './process.js';
import { tempDir } from './tmp.js';

export interface Tmpfs {
  readonly dir: string;
  /** Remount with a new size (MiB) and/or read-only. */
  remount(opts: { sizeMiB?: number; readOnly?: boolean }): Promise<void>;
  /** Bytes free, as statfs says. */
  freeBytes(): Promise<number>;
  unmount(): Promise<void>;
}

export async function mountTmpfs(sizeMiB: number, label = 'tmpfs'): Promise<Tmpfs> {
  const dir = await tempDir(label);
  await runChecked('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir]);
  let mounted = true;
  const unregister = onProcessExit(() => {
    if (!mounted) return;
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // best effort: the process is going away
    }
  });
  return {
    dir,
    async remount(opts) {
      const flags = ['remount'];
      if (opts.sizeMiB !== undefined) flags.push(`size=${opts.sizeMiB}m`);
      if (opts.readOnly !== undefined) flags.push(opts.readOnly ? 'ro' : 'rw');
      await runChecked('mount', ['-o', flags.join(','), dir]);
    },
    async freeBytes() {
      const { stdout } = await runChecked('df', ['-B1', '--output=avail', dir]);
      return Number(stdout.trim().split('\n').pop());
    },
    async unmount() {
      if (!mounted) return;
      await runChecked('umount', [dir]).catch(() => runChecked('umount', ['-l', dir]));
      mounted = false;
      unregister();
    },
  };
}
