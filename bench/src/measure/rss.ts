/**
 * Peak resident memory from /proc: VmHWM of a process, summed over the processes that make up a
 * server (nginx: master + workers; shared pages then count once per process, so a multi-process
 * server is if anything over-counted). Writing 5 to /proc/<pid>/clear_refs resets the peak, which
 * lets the long-lived upstream be measured per block like the freshly started caches.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';

/** VmHWM of one process in KiB; undefined when it is gone or unreadable. */
export async function vmHwmKiB(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** The sum of VmHWM over the pids, in MiB. */
export async function peakRssMiB(pids: number[]): Promise<number> {
  const values = await Promise.all(pids.map(vmHwmKiB));
  return values.reduce<number>((sum, kib) => sum + (kib ?? 0), 0) / 1024;
}

/** Resets the peak of each pid to its current RSS; false when the kernel refused (not owner / old kernel). */
export async function resetPeak(pids: number[]): Promise<boolean> {
  const results = await Promise.all(
    pids.map(async (pid) => {
      try {
        await writeFile(`/proc/${pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    }),
  );
  return results.every(Boolean);
}

/**
 * The fields of a /proc/<pid>/stat line after comm, from `state` on (field 3 of proc(5) is
 * index 0): comm may hold spaces and parentheses, so the line is split after the last ')'.
 */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The parent pid in a /proc/<pid>/stat line. */
function ppidOf(stat: string): number {
  return Number(statFields(stat)[1]);
}

/** childPids for exit hooks, which must be synchronous. */
export function childPidsSync(parent: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (ppidOf(readFileSync(`/proc/${name}/stat`, 'utf8')) === parent) children.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** The pids whose parent is `parent` (one level), read from /proc/<pid>/stat. */
export async function childPids(parent: number): Promise<number[]> {
  const entries = await readdir('/proc');
  const children: number[] = [];
  await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        try {
          if (ppidOf(await readFile(`/proc/${name}/stat`, 'utf8')) === parent) children.push(Number(name));
        } catch {
          // gone meanwhile
        }
      }),
  );
  return children.sort((a, b) => a - b);
}
